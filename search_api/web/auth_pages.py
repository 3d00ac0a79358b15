"""Sign-in (OIDC, or the development page when enabled) and sign-out."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from archive.auth import AuthenticationError, mint_token
from archive.errors import Forbidden, InvalidInput, NotFound
from archive.permissions import CONFIDENTIALITY_LEVELS, ROLES
from search_api.web import oidc
from search_api.web.core import (
    WebRoute,
    WebSettings,
    dev_login_enabled,
    oidc_enabled,
    render,
)
from search_api.web.security import (
    OIDC_COOKIE,
    check_csrf,
    end_session,
    safe_next,
    set_cookie,
    sign,
    start_session,
    unsign,
)

# Reached before anyone has signed in, on purpose: these pages are how one signs in.
router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/search", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: WebSettings, next: str | None = None) -> HTMLResponse:  # noqa: A002
    return render(
        request,
        "login.html",
        {
            "next": safe_next(next),
            "roles": ROLES,
            "levels": CONFIDENTIALITY_LEVELS,
            "error": request.query_params.get("error"),
        },
    )


@router.post("/login/dev")
def dev_login(
    request: Request,
    settings: WebSettings,
    sub: Annotated[str, Form(min_length=1, max_length=100)],
    clearance: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    departments: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form()] = "/search",  # noqa: A002
) -> Response:
    """Mint a token for the chosen user: development only, off unless web_dev_login."""
    if not dev_login_enabled(settings, request):
        raise NotFound("开发登录未启用 (development sign-in is off)")
    check_csrf(request, csrf_token)
    if settings.jwks_url:
        raise Forbidden("已配置 JWKS，本服务签发的令牌不会被接受 (tokens are verified by JWKS here)")
    depts = [d.strip() for d in departments.replace("，", ",").split(",") if d.strip()]
    try:
        token = mint_token(
            settings,
            sub=sub.strip(),
            roles=roles or [],
            departments=depts,
            clearance=clearance,
            ttl=timedelta(hours=settings.web_session_hours),
        )
    except AuthenticationError as exc:
        raise InvalidInput(str(exc)) from exc
    response = RedirectResponse(safe_next(next), status_code=303)
    start_session(response, request, settings, token=token, max_age=settings.web_session_hours * 3600)
    return response


@router.get("/login/oidc")
def oidc_start(request: Request, settings: WebSettings, next: str | None = None) -> Response:  # noqa: A002
    if not oidc_enabled(settings):
        raise NotFound("未配置企业登录 (OIDC is not configured)")
    try:
        started = oidc.begin(settings)
    except oidc.OidcError as exc:
        return render(request, "error.html", {"heading": "出错了", "message": str(exc)}, status_code=502)
    response = RedirectResponse(started.url, status_code=303)
    cookie = sign(
        settings,
        "oidc",
        {
            "state": started.state,
            "nonce": started.nonce,
            "verifier": started.verifier,
            "next": safe_next(next),
        },
        max_age=600,
    )
    set_cookie(response, request, settings, OIDC_COOKIE, cookie, max_age=600)
    return response


@router.get("/auth/callback")
def oidc_callback(
    request: Request,
    settings: WebSettings,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    if not oidc_enabled(settings):
        raise NotFound("未配置企业登录 (OIDC is not configured)")
    pending = unsign(settings, "oidc", request.cookies.get(OIDC_COOKIE))
    if error or not code or pending is None or state != pending.get("state"):
        message = error or "登录状态不符或已过期，请重新登录 (sign-in state missing, stale or forged)"
        response = render(request, "error.html", {"heading": "出错了", "message": message}, status_code=400)
        response.delete_cookie(OIDC_COOKIE, path="/")
        return response
    try:
        token, lifetime = oidc.finish(
            settings, code=code, nonce=pending["nonce"], verifier=pending["verifier"]
        )
    except oidc.OidcError as exc:
        response = render(request, "error.html", {"heading": "出错了", "message": str(exc)}, status_code=400)
        response.delete_cookie(OIDC_COOKIE, path="/")
        return response
    response = RedirectResponse(safe_next(pending.get("next")), status_code=303)
    response.delete_cookie(OIDC_COOKIE, path="/")
    start_session(response, request, settings, token=token, max_age=lifetime)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response
