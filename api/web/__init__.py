"""The web pages: server-rendered from the services, Jinja2 templates, no front-end build.

Pages work without JavaScript; the one small stylesheet (`static/style.css`) is the only other
resource. Routes (see `routes/`):

- `/`, `/search`: Find partners (GET form: `q` and the filters `country`, `region`,
  `income_group`, `type`, `language`, `network`, each repeatable), explained results, "more like
  this" (the organisation's similar organisations) and "add to shortlist" (signed-in users);
- `/organisations/{id}`: profile, people, projects with their countries, calls, look-alikes;
- `/organisations/{id}/edit`: its own members and the staff only (403 for anyone else);
- `/shortlists` (GET), `/shortlists/add` (POST), `/shortlists/{id}` and its exports
  `/shortlists/{id}/export.csv|.xlsx`: the user's shortlists;
- `/calls`, `/calls/{id}`: the calls, a call's page with the members it fits and the consortium
  builder (GET form: `build=1`, `lead`, `min_size`, `max_size`, `min_countries`, `min_lmic`,
  `types`, `include`, `exclude`, `k`), and `/calls/{id}/shortlist` (POST: save a consortium);
- `/map`: who works where, a server-side SVG tile grid map (`svg_map.py`) and its table;
- `/secretariat` (staff): import jobs and uploads (`/secretariat/imports`), new calls with
  `/secretariat/calls/{id}/forward` (preview, POST sends) and `/secretariat/digest` (dry run,
  POST sends); sending runs in the request, through the outbox;
- `/signin` (GET form, POST), `/signout` (POST).

How to add a page
-----------------
1. A router module in `api/web/routes/` with sync `def` routes (FastAPI runs them in its thread
   pool) taking `request: Request`, `user: WebUserDep` (always: the layout needs the user) and
   what they need from `api.deps` (`SessionDep`, `SettingsDep`, `EngineDep`); add it to
   `ROUTERS` below. Use `user.principal` (the same `Principal` and role rules as the API) with
   the services, which check permissions themselves.
2. A template in `templates/` that starts with `{% extends "base.html" %}` and fills
   `{% block title %}` and `{% block content %}` (also `{% block head %}` for extra `<head>`
   tags). `templates/forms.html` has macros for labelled inputs with their errors:
   `{% import "forms.html" as f %}` then `{{ f.text("name", t("edit.name"), values.name,
   errors) }}`, `f.textarea`, `f.select`, and `{{ f.csrf(csrf_token) }}` in every POST form.
3. Answer with `render(request, "page.html", {...})` (`api.web.core`); raise
   `PageError(404, "error.404")` for an error page; after a successful POST,
   `return redirect(url, flash="flash.some_key")` (a 303 with a one-time message).
4. Interface strings: add keys to the three dicts of `api/web/i18n.py` (EN, FR, ES; the tests
   require every key in every language) and write `{{ t("my.key") }}` or
   `{{ t("my.key", count=3) }}` for `{count}` placeholders. Never translate data.
5. Header link: append a `NavItem("nav.key", "/path", staff=True|False, signed_in=...,
   prefixes=("/path",))` to `api.web.core.NAV`.

Forms and CSRF
--------------
Every POST route takes `form: CsrfForm`: the form data, only once its hidden `csrf_token`
matches the session's token (signed-in users) or the `hm_csrf` double-submit cookie (anonymous
forms), and the Origin header, when sent, names this host; otherwise a 403 page. Validate
server-side, and on errors render the form again (status 422) with the user's input and
`errors[field] = ("err.key", {placeholders})` shown next to each field.

Escaping: templates are autoescaped; never mark data `|safe`.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.web.core import HERE, PageError, page_error_handler
from api.web.routes import (
    account,
    calls,
    map,
    organisations,
    search,
    secretariat,
    shortlists,
)

ROUTERS = (search, organisations, shortlists, calls, map, secretariat, account)


class CachedStatic(StaticFiles):
    """Static files with a year of caching: their URLs carry a hash of their content."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install(app: FastAPI) -> None:
    """Mount the pages, their static files and their session handling on the app."""
    app.mount("/static", CachedStatic(directory=HERE / "static"), name="static")
    app.add_exception_handler(PageError, page_error_handler)
    for module in ROUTERS:
        app.include_router(module.router)
