"""Sign-in and sign-out (sessions in the `web_session` table, see `api.services.web_sessions`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from api.services.throttle import FailureThrottle
from api.services.web_sessions import LIFETIME, authenticate_password, close_session, open_session
from api.web.core import (
    SESSION_COOKIE,
    CsrfForm,
    WebUserDep,
    form_text,
    redirect,
    render,
    safe_next,
    secure,
)

router = APIRouter()


@router.get("/signin", response_class=HTMLResponse, include_in_schema=False)
def signin_page(request: Request, user: WebUserDep) -> HTMLResponse:
    target = safe_next(request.query_params.get("next"))
    return render(request, "signin.html", {"next": target, "email": "", "failed": False})


@dataclass(frozen=True)
class SigninThrottles:
    """5 failures per e-mail, 30 per client address (offices share one address) in 15 min."""

    by_email: FailureThrottle = field(default_factory=lambda: FailureThrottle(max_failures=5))
    by_client: FailureThrottle = field(default_factory=lambda: FailureThrottle(max_failures=30))

    def retry_after(self, email: str, client: str) -> int:
        return max(self.by_email.retry_after([email]), self.by_client.retry_after([client]))

    def failed(self, email: str, client: str) -> None:
        self.by_email.failed([email])
        self.by_client.failed([client])


def _throttles(request: Request) -> SigninThrottles:
    throttles = getattr(request.app.state, "signin_throttles", None)
    if not isinstance(throttles, SigninThrottles):
        throttles = request.app.state.signin_throttles = SigninThrottles()
    return throttles


@router.post("/signin", include_in_schema=False)
def signin(request: Request, session: SessionDep, form: CsrfForm) -> Response:
    email = form_text(form, "email", 320)
    password = form.get("password")
    target = safe_next(form_text(form, "next", 2000))
    throttles = _throttles(request)
    email_key = email.strip().lower()
    client = request.client.host if request.client else "unknown"
    wait = throttles.retry_after(email_key, client)
    if wait:
        context = {
            "next": target,
            "email": email,
            "failed": False,
            "locked_minutes": -(-wait // 60),
        }
        locked = render(request, "signin.html", context, status=429)
        locked.headers["Retry-After"] = str(wait)
        return locked
    user = None
    if isinstance(password, str) and email:
        user = authenticate_password(session, email, password)
    if user is None:
        throttles.failed(email_key, client)
        context = {"next": target, "email": email, "failed": True}
        return render(request, "signin.html", context, status=400)
    throttles.by_email.succeeded([email_key])
    close_session(session, request.cookies.get(SESSION_COOKIE))  # never reuse a session
    token, _row = open_session(session, user)
    response = redirect(target, flash="flash.signed_in")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )
    return response


@router.post("/signout", include_in_schema=False)
def signout(request: Request, session: SessionDep, form: CsrfForm) -> Response:
    close_session(session, request.cookies.get(SESSION_COOKIE))
    response = redirect("/", flash="flash.signed_out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
