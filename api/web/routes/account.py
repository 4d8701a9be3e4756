"""Sign-in and sign-out (sessions in the `web_session` table, see `api.services.web_sessions`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
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


@router.post("/signin", include_in_schema=False)
def signin(request: Request, session: SessionDep, form: CsrfForm) -> Response:
    email = form_text(form, "email", 320)
    password = form.get("password")
    target = safe_next(form_text(form, "next", 2000))
    user = None
    if isinstance(password, str) and email:
        user = authenticate_password(session, email, password)
    if user is None:
        context = {"next": target, "email": email, "failed": True}
        return render(request, "signin.html", context, status=400)
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
