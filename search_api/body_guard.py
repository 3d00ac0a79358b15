"""A request body is refused before a byte of it is read: too large, or from nobody.

FastAPI reads (and spools to disk) a multipart or JSON body before any dependency runs, so
the token check in `get_current_user` comes too late to protect the disk. This pure ASGI
middleware looks only at the headers of a request that carries a body (POST, PUT, PATCH,
DELETE) and refuses at once:
- no or bad credentials for a route that needs them → 401 (a web page → the sign-in page;
  the web upload also needs its CSRF header);
- a `Content-Length` over the route's limit → 413;
and counts the bytes as the route reads them: past the limit → 413, and what was spooled is
closed (Starlette's form parser closes its temporary files when reading fails).

Which routes need which credentials is read from their dependencies, and which take files
from their parameters, so that a route added later is covered without being listed here.
GET requests pass straight through: nothing is added to the search route.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from anyio import to_thread
from fastapi import params
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archive.auth import AuthenticationError, authenticate
from archive.settings import Settings
from search_api.exposure import refuse_development_secret

Credentials = Literal["none", "bearer", "session", "session_json"]
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The multipart framing and the form's other fields, beyond the file itself.
UPLOAD_FORM_SLACK = 1024 * 1024


@dataclass(frozen=True)
class _Route:
    matches: Callable[[str], Any]
    methods: frozenset[str]
    credentials: Credentials
    takes_file: bool


# Dependencies that say who may call a route; filled by the modules that define them.
CREDENTIAL_DEPENDENCIES: dict[Callable[..., Any], Credentials] = {}


def requires(credentials: Credentials) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a dependency as resolving the caller from these credentials."""

    def mark(dependency: Callable[..., Any]) -> Callable[..., Any]:
        CREDENTIAL_DEPENDENCIES[dependency] = credentials
        return dependency

    return mark


def _calls(dependant: Any) -> list[Callable[..., Any]]:
    found = [dependant.call] if dependant.call is not None else []
    for child in dependant.dependencies:
        found.extend(_calls(child))
    return found


def _takes_file(dependant: Any) -> bool:
    if any(isinstance(param.field_info, params.File) for param in dependant.body_params):
        return True
    return any(_takes_file(child) for child in dependant.dependencies)


def route_table(app: Any) -> list[_Route]:
    """Every route of the app with a body method: what credentials it needs, whether it takes files."""
    table = []
    for context in iter_route_contexts(app.routes):
        methods = frozenset(getattr(context, "methods", None) or ())
        dependant = getattr(context, "dependant", None)
        if dependant is None or not methods - _NO_BODY_METHODS:
            continue
        calls = _calls(dependant)
        needs = {CREDENTIAL_DEPENDENCIES[call] for call in calls if call in CREDENTIAL_DEPENDENCIES}
        credentials: Credentials = (
            "bearer" if "bearer" in needs
            else "session_json" if "session_json" in needs
            else "session" if "session" in needs
            else "none"
        )
        table.append(_Route(context.path_regex.match, methods, credentials, _takes_file(dependant)))
    return table


def limit_for(settings: Settings, *, takes_file: bool) -> int:
    return settings.max_upload_bytes + UPLOAD_FORM_SLACK if takes_file else settings.max_body_kb * 1024


def too_large(limit: int) -> str:
    shown = f"{limit / (1024 * 1024):.0f} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return f"请求内容超过上限 {shown} (the request body exceeds the {shown} limit)"


class BodyGuard:
    """Pure ASGI middleware: credentials and size of a request body checked from its headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._table: list[_Route] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _NO_BODY_METHODS:
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        if route is None:
            await self.app(scope, receive, send)
            return
        settings: Settings = scope["app"].state.settings
        refusal = await _refusal(route.credentials, scope, settings)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        limit = limit_for(settings, takes_file=route.takes_file)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await JSONResponse({"detail": too_large(limit)}, status_code=413)(scope, receive, send)
            return
        await self.app(scope, _counting(receive, limit), send)

    def _route(self, scope: Scope) -> _Route | None:
        if self._table is None:
            self._table = route_table(scope["app"])
        path, method = scope["path"], scope["method"]
        for route in self._table:
            if method in route.methods and route.matches(path):
                return route
        return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _counting(receive: Receive, limit: int) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                # Raised inside the body parser: it closes the files it spooled, and FastAPI
                # passes an HTTPException on as it is.
                raise HTTPException(status_code=413, detail=too_large(limit))
        return message

    return counted


async def _refusal(credentials: Credentials, scope: Scope, settings: Settings) -> Response | None:
    if credentials == "none":
        return None
    request = Request(scope)
    if credentials == "bearer":
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _unauthorized("缺少令牌 (missing bearer token)")
        problem = await _token_problem(settings, token.strip(), scope)
        return _unauthorized(problem) if problem else None
    # Late import: the web package imports this module to mark its dependencies.
    from search_api.web.security import CSRF_COOKIE, CSRF_HEADER, session_token

    token = session_token(settings, request)
    if token is None:
        problem: str | None = "未登录或会话已过期 (not signed in)"
    else:
        problem = await _token_problem(settings, token, scope)
    if credentials == "session":
        if problem is None:
            return None
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    if problem is not None:
        return _unauthorized(problem)
    cookie, header = request.cookies.get(CSRF_COOKIE), request.headers.get(CSRF_HEADER)
    if not cookie or not header or not hmac.compare_digest(cookie, header):
        return JSONResponse(
            {"detail": "表单已过期，请刷新页面后重试 (missing or stale CSRF token; reload the page)"},
            status_code=403,
        )
    return None


async def _token_problem(settings: Settings, token: str, scope: Scope) -> str | None:
    try:
        refuse_development_secret(settings, scope)
        if settings.jwks_url:
            # The signing keys may have to be fetched: not on the event loop.
            await to_thread.run_sync(authenticate, settings, token)
        else:
            authenticate(settings, token)
    except AuthenticationError as exc:
        return str(exc)
    return None


def _unauthorized(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
