"""What every page shares: the signed-in user, CSRF checks, flash messages, rendering, errors.

- `WebUserDep`: the `WebUser` of the request's session cookie (anonymous without one).
- `CsrfForm`: a POST route's form data, after the CSRF check (403 page when it fails).
- `render(request, "page.html", {...})`: a page in the request's language, with the layout's
  context (`t`, `lang`, `user`, `csrf_token`, `nav`, `site_languages`, `flash`, `static`).
- `PageError(status, "i18n.key")`: raise it anywhere in a page route to answer an error page.
- `redirect(url, flash="flash.key")`: a 303 after a POST, with a one-time message.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from api.deps import SessionDep
from api.services.web_sessions import ANONYMOUS_USER, WebUser, resolve
from api.web.i18n import CATALOGUES, LANG_COOKIE, LANGUAGE_NAMES, pick_language, translator

HERE = Path(__file__).parent
SESSION_COOKIE = "hm_session"
CSRF_COOKIE = "hm_csrf"  # double-submit token of anonymous forms (sign-in)
FLASH_COOKIE = "hm_flash"
YEAR = 365 * 24 * 3600


# --- layout: the header navigation -----------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    """One link of the header. `staff`: shown to the secretariat and admins only; `signed_in`:
    shown to signed-in users only. `prefix`: the paths under which it is the current page."""

    label: str  # an i18n key
    href: str
    staff: bool = False
    signed_in: bool = False
    prefixes: tuple[str, ...] = field(default=())

    def visible(self, user: WebUser) -> bool:
        if self.staff and not user.principal.is_staff:
            return False
        return not (self.signed_in and not user.signed_in)

    def current(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.prefixes)


NAV: list[NavItem] = [
    NavItem("nav.search", "/search", prefixes=("/search", "/organisations")),
    NavItem("nav.map", "/map", prefixes=("/map",)),
    NavItem("nav.calls", "/calls", prefixes=("/calls",)),
    NavItem("nav.shortlists", "/shortlists", signed_in=True, prefixes=("/shortlists",)),
    NavItem("nav.secretariat", "/secretariat", staff=True, prefixes=("/secretariat",)),
]


# --- the user of a request ---------------------------------------------------------------------


def get_web_user(request: Request, session: SessionDep) -> WebUser:
    cached = getattr(request.state, "web_user", None)
    if isinstance(cached, WebUser):
        return cached
    user = resolve(session, request.cookies.get(SESSION_COOKIE))
    request.state.web_user = user
    return user


WebUserDep = Annotated[WebUser, Depends(get_web_user)]


# --- errors -------------------------------------------------------------------------------------


class PageError(Exception):
    """An error page: `message` is an i18n key."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def page_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return render(
        request,
        "error.html",
        {"status": exc.status, "message": exc.message},
        status=exc.status,
    )


# --- CSRF ---------------------------------------------------------------------------------------


def anonymous_csrf_token(request: Request) -> str:
    """The double-submit token of anonymous forms: the cookie's, or a new one that `render` sets."""
    token = getattr(request.state, "anonymous_csrf", None)
    if isinstance(token, str):
        return token
    token = request.cookies.get(CSRF_COOKIE, "")
    if not (20 <= len(token) <= 100):
        token = secrets.token_urlsafe(32)
        request.state.new_csrf_cookie = token
    request.state.anonymous_csrf = token
    return token


def csrf_token_for(request: Request, user: WebUser) -> str:
    """The token that this user's forms must carry in their hidden `csrf_token` field."""
    return user.csrf_token if user.signed_in else anonymous_csrf_token(request)


def origin_ok(request: Request) -> bool:
    """No Origin header (older browsers, same-origin GET-less clients) or one of this host."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


async def csrf_form(request: Request, user: WebUserDep) -> FormData:
    """The form of a POST, once its `csrf_token` matches the session's (or, for anonymous
    visitors, the `hm_csrf` cookie's) and its Origin, when sent, is this host."""
    if not origin_ok(request):
        raise PageError(403, "error.csrf")
    form = await request.form()
    sent = form.get("csrf_token")
    expected = user.csrf_token if user.signed_in else request.cookies.get(CSRF_COOKIE, "")
    if not isinstance(sent, str) or not expected:
        raise PageError(403, "error.csrf")
    if not hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8")):
        raise PageError(403, "error.csrf")
    return form


CsrfForm = Annotated[FormData, Depends(csrf_form)]


def form_text(form: FormData, name: str, limit: int = 20_000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def form_list(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


# --- redirects ----------------------------------------------------------------------------------


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site relative path to go to after a form, never another site's address."""
    if not target or len(target) > 2000:
        return default
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(c) < 32 or c == "\\" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, flash, max_age=300, httponly=True, samesite="lax")
    return response


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


# --- rendering ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    return env


@lru_cache(maxsize=64)
def _static_version(name: str) -> str:
    path = HERE / "static" / name
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.is_file() else "0"


def static_url(name: str) -> str:
    """`/static/name?v=<hash of its content>`: cached for a year, new URL when it changes."""
    return f"/static/{name}?v={_static_version(name)}"


def url_with(request: Request, **changes: str | None) -> str:
    """This page's path and query with some parameters replaced (None removes one)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    items += [(k, v) for k, v in changes.items() if v is not None]
    query = urlencode(items)
    return request.url.path + (f"?{query}" if query else "")


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "private, no-cache",
}


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """The page `template` with the layout's context; sets the language and CSRF cookies when
    they are new, and consumes the flash message."""
    resolved = getattr(request.state, "web_user", None)
    user = resolved if isinstance(resolved, WebUser) else ANONYMOUS_USER
    lang = pick_language(request)
    t = translator(lang)
    flash = request.cookies.get(FLASH_COOKIE, "")
    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "t": t,
        "user": user,
        "csrf_token": csrf_token_for(request, user),
        "nav": [
            (t(item.label), item.href, item.current(request.url.path))
            for item in NAV
            if item.visible(user)
        ],
        "site_languages": [
            (code, name, url_with(request, lang=code), code == lang)
            for code, name in LANGUAGE_NAMES.items()
        ],
        "flash": t(flash) if flash in CATALOGUES["en"] and flash.startswith("flash.") else "",
        "current_path": url_with(request, lang=None),
    }
    values.update(context or {})
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    https = secure(request)
    if request.query_params.get("lang", "").lower() == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=YEAR, samesite="lax", secure=https)
    new_csrf = getattr(request.state, "new_csrf_cookie", None)
    if isinstance(new_csrf, str):
        response.set_cookie(
            CSRF_COOKIE, new_csrf, httponly=True, samesite="strict", secure=https, path="/"
        )
    if flash:
        response.delete_cookie(FLASH_COOKIE)
    if isinstance(resolved, WebUser) and request.cookies.get(SESSION_COOKIE) and not user.signed_in:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response
