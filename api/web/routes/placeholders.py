"""Pages still to come, linked from the header so that the navigation is complete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.web.core import PageError, WebUserDep, render

router = APIRouter()


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
@router.get("/calls", response_class=HTMLResponse, include_in_schema=False)
def coming_soon(request: Request, user: WebUserDep) -> HTMLResponse:
    return render(request, "soon.html")


@router.get("/secretariat", response_class=HTMLResponse, include_in_schema=False)
def secretariat(request: Request, user: WebUserDep) -> HTMLResponse:
    if not user.principal.is_staff:
        raise PageError(403, "error.403")
    return render(request, "soon.html")
