"""Who works where: a tile grid map (SVG drawn server-side) of the organisations working in each
country (their headquarters, countries of work and their projects' countries), filterable by a
theme, with the same numbers as a table."""

from __future__ import annotations

from collections import Counter, defaultdict
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, select

from api.deps import SessionDep
from api.web import options
from api.web.core import WebUserDep, render
from api.web.svg_map import grid, tile_map
from models.organisation import Organisation
from models.project import Project, ProjectParticipant

router = APIRouter()
MAX_THEMES = 60


def _mentions(theme: str, *texts: object) -> bool:
    for text in texts:
        if isinstance(text, list):
            if any(theme == str(v).strip().lower() for v in text):
                return True
        elif isinstance(text, str) and theme in text.lower():
            return True
    return False


def country_counts(session: Session, theme: str = "") -> dict[str, int]:
    """ISO code -> how many organisations work there (for `theme`: organisations whose themes or
    description mention it count with all their countries; others only with the countries of
    their projects that mention it)."""
    theme = theme.strip().lower()
    where: dict[int, set[str]] = defaultdict(set)
    for org in session.exec(select(Organisation)).all():
        if org.id is None:
            continue
        if not theme or _mentions(theme, org.themes, org.description):
            where[org.id].update(c.upper() for c in org.countries or [])
            if org.hq_country:
                where[org.id].add(org.hq_country.upper())
    rows = session.exec(
        select(ProjectParticipant.organisation_id, Project).join(
            Project,
            ProjectParticipant.project_id == Project.id,  # type: ignore[arg-type]
        )
    ).all()
    for org_id, project in rows:
        if not theme or _mentions(
            theme, project.keywords, project.themes, project.title, project.description
        ):
            where[org_id].update(c.upper() for c in project.countries or [])
    counts: Counter[str] = Counter()
    for countries in where.values():
        counts.update(countries)
    return dict(counts)


def theme_choices(session: Session) -> list[str]:
    """The themes and project keywords found in the data, the most common first."""
    found: Counter[str] = Counter()
    for themes in session.exec(select(Organisation.themes)).all():
        found.update({str(v).strip().lower() for v in themes or [] if str(v).strip()})
    for keywords, themes in session.exec(select(Project.keywords, Project.themes)).all():
        values = [*(keywords or []), *(themes or [])]
        found.update({str(v).strip().lower() for v in values if str(v).strip()})
    common = [name for name, _ in found.most_common(MAX_THEMES)]
    return sorted(common)


def search_link(code: str, theme: str) -> str:
    query = [("country", code)] + ([("q", theme)] if theme else [])
    return f"/search?{urlencode(query)}"


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
def map_page(request: Request, user: WebUserDep, session: SessionDep) -> HTMLResponse:
    themes = theme_choices(session)
    theme = request.query_params.get("theme", "").strip()[:200]
    counts = country_counts(session, theme)
    names = {code: options.country_name(code) for code in set(grid()) | set(counts)}
    rows = sorted(counts.items(), key=lambda item: (-item[1], names.get(item[0], item[0])))
    context = {
        "themes": themes,
        "theme": theme,
        "tilemap": tile_map(counts, names),
        "rows": [(code, names.get(code, code), n, search_link(code, theme)) for code, n in rows],
        "links": {code: search_link(code, theme) for code in counts},
        "unplaced": sorted(code for code in counts if code not in grid()),
        "total": len(rows),
    }
    return render(request, "map.html", context)
