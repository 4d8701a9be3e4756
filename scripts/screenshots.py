"""Full-page screenshots of the main web pages, over the demo network, in Debian's Chromium.

    python scripts/screenshots.py [--db healthmatch-demo.db] [--out screenshots] [--query ...]

Without --db a fresh demo database is built in a temporary folder (`healthmatch demo --no-serve`).
The database is brought to the current schema, a member user bound to the first search result is
created (or updated) with a random password, the app is served on a free loopback port, and the
pages are saved as PNGs into --out (git-ignored): search with results (English and French), an
organisation, sign-in, and that organisation's edit form (empty and with validation errors); the
calls, a call's page with consortium builder results, the shortlist saved from it, the map (all
themes and one theme), and, signed in as a secretariat user made the same way, the secretariat
page and the digest preview.
"""

from __future__ import annotations

import argparse
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import uvicorn
from sqlmodel import Session, col, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.demo import demo_settings  # noqa: E402
from api.services.passwords import hash_password  # noqa: E402
from models.db import make_engine  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.user import Role, User  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
MEMBER = "screenshots-member@demo.healthmatch.example"
STAFF = "screenshots-staff@demo.healthmatch.example"


def build_demo(folder: Path) -> Path:
    db = folder / "demo.db"
    exe = Path(sys.executable).with_name("healthmatch")
    command = [str(exe), "demo", "--no-serve", "--db", str(db)]
    subprocess.run(command, check=True, cwd=folder)
    return db


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def member_for(
    engine: object, organisation_id: int | None, email: str = MEMBER, role: Role = Role.MEMBER
) -> str:
    """A user (a member of `organisation_id`, or staff) with a fresh random password; returns
    the password."""
    password = secrets.token_urlsafe(16)
    with Session(engine) as session:  # type: ignore[arg-type]
        user = session.exec(select(User).where(col(User.email) == email)).first()
        if user is None:
            user = User(email=email, role=role, name="Screenshot user")
        user.role = role
        user.organisation_id = organisation_id
        user.password_hash = hash_password(password)
        user.is_active = True
        session.add(user)
        session.commit()
    return password


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a demo database (built when omitted)")
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--query", default="malaria vaccine trials in Africa")
    args = parser.parse_args()
    temporary = tempfile.TemporaryDirectory(prefix="healthmatch-shots-")
    db = args.db.resolve() if args.db else build_demo(Path(temporary.name))
    url = f"sqlite:///{db}"
    upgrade(url)
    settings = demo_settings(url)
    engine = make_engine(url)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1", port=port)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/health", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    search = httpx.get(f"{base}/search", params={"q": args.query}, timeout=120)
    found = re.search(r'<a href="/organisations/(\d+)">', search.text)
    if found is None:
        raise SystemExit(f"no result for {args.query!r}: try another --query")
    org_id = int(found.group(1))
    password = member_for(engine, org_id)
    staff_password = member_for(engine, None, STAFF, Role.SECRETARIAT)
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    shots: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page = context.new_page()

        def shot(name: str) -> None:
            path = args.out / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            shots.append(path)

        page.goto(f"{base}/search?q={args.query}&lang=en")
        shot("search")
        page.goto(f"{base}/search?q={args.query}&lang=fr")
        shot("search-fr")
        page.goto(f"{base}/organisations/{org_id}?lang=en")
        shot("organisation")
        page.goto(f"{base}/signin?next=/organisations/{org_id}/edit")
        shot("signin")
        page.get_by_label("E-mail").fill(MEMBER)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"**/organisations/{org_id}/edit")
        shot("edit")
        page.get_by_label("Name", exact=True).fill("")
        page.get_by_label("Website").fill("not an address")
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        shot("edit-errors")
        page.goto(f"{base}/search?q={args.query}")
        shot("search-signed-in")
        page.goto(f"{base}/calls")
        shot("calls")
        call = re.search(r'href="/calls/(\d+)"', page.content())
        if call is not None:
            page.goto(f"{base}/calls/{call.group(1)}?build=1&lead={org_id}&k=3#results")
            shot("call-builder")
            page.locator("article.alternative").first.get_by_role(
                "button", name="Save as shortlist"
            ).click()
            page.wait_for_url("**/shortlists/*")
            shot("shortlist")
        page.goto(f"{base}/map")
        shot("map")
        theme = page.locator("#f-theme option").nth(1).get_attribute("value")
        if theme:
            page.goto(f"{base}/map?{urlencode({'theme': theme})}")
            shot("map-theme")
        staff_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page = staff_context.new_page()
        page.goto(f"{base}/signin?next=/secretariat")
        page.get_by_label("E-mail").fill(STAFF)
        page.get_by_label("Password").fill(staff_password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/secretariat")
        shot("secretariat")
        page.goto(f"{base}/secretariat/digest?force=1")
        shot("digest")
        browser.close()
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
    temporary.cleanup()
    for path in shots:
        print(path)


if __name__ == "__main__":
    main()
