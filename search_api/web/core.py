"""What every page shares: the signed-in user (resolved exactly as the API does), the
database session, rendering in the chosen language, and domain errors shown as pages."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import structlog
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from archive.auth import AuthenticationError, resolve_user
from archive.db import session_scope
from archive.errors import (
    Conflict,
    DomainError,
    FileTooLarge,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    UnsupportedFile,
)
from archive.permissions import User
from archive.settings import Environment, Settings
from search_api.body_guard import requires
from search_api.exposure import development_sign_in_reachable, refuse_development_secret
from search_api.web import i18n
from search_api.web.present import local_time, message_in, validation_message, yes_no
from search_api.web.security import (
    CSRF_COOKIE,
    LANG_COOKIE,
    csrf_token,
    end_session,
    session_token,
    set_cookie,
    sign,
    unsign,
)

FLASH_COOKIE = "pa_flash"

log = structlog.get_logger(__name__)
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


class LoginRequired(Exception):
    """No valid session: the page sends the browser to the sign-in page."""


async def web_settings(request: Request) -> Settings:
    return request.app.state.settings


def web_session(request: Request) -> Iterator[Session]:
    """A session kept on the request, so an error page can roll back what the page began."""
    with session_scope(request.app.state.session_factory) as session:
        request.state.db = session
        yield session


WebSettings = Annotated[Settings, Depends(web_settings)]
WebSession = Annotated[Session, Depends(web_session)]


@requires("session")
def web_user(request: Request, settings: WebSettings, session: WebSession) -> User:
    token = session_token(settings, request)
    if token is None:
        raise LoginRequired
    refuse_development_secret(settings, request.scope)
    user = resolve_user(settings, session, token)
    request.state.user = user
    return user


WebUser = Annotated[User, Depends(web_user)]


def dev_login_enabled(settings: Settings, request: Request | None = None) -> bool:
    # Never in production, whatever the flag says: it hands out any identity. Nor to a request
    # that came in on an address other than loopback, unless that was explicitly allowed.
    if not (settings.web_dev_login and settings.environment is Environment.development):
        return False
    return request is None or development_sign_in_reachable(settings, request.scope)


def oidc_enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id and settings.oidc_redirect_url)


def zone_name(settings: Settings) -> str:
    """The office's zone as people recognise it: Asia/Shanghai (UTC+08:00)."""
    offset = datetime.now(settings.zone).strftime("%z")
    return f"{settings.timezone}（UTC{offset[:3]}:{offset[3:]}）"


def language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in i18n.LANGUAGES:
        return chosen
    default = request.app.state.settings.web_default_lang
    return default if default in i18n.LANGUAGES else "zh"


_EM = re.compile(r"(</?em>)")


def safe_highlight(fragment: str) -> Markup:
    """Elasticsearch's fragment (html-encoded, <em> marks) with nothing but <em> left as markup.

    Each text run is unescaped and escaped again: already-encoded text stays as it was, and
    anything that was not encoded (a changed encoder, a masking step) cannot become markup.
    """
    parts = _EM.split(fragment)
    text = "".join(part if _EM.fullmatch(part) else html.escape(html.unescape(part)) for part in parts)
    return Markup(text)  # noqa: S704 - every run escaped above; only <em> and </em> kept


def url_with(request: Request, **changes: object) -> str:
    """This page's URL with some query parameters changed (None removes one; page resets)."""
    params = {k: v for k, v in request.query_params.items() if k not in ("lang",)}
    if "page" not in changes:
        params.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    lang = language(request)
    user: User | None = getattr(request.state, "user", None)
    settings: Settings = request.app.state.settings
    flashed = unsign(settings, "flash", request.cookies.get(FLASH_COOKIE))
    response = templates.TemplateResponse(
        request,
        template,
        {
            "notice": flashed.get("message") if flashed else None,
            "user": user,
            "lang": lang,
            "t": i18n.translator(lang),
            "label": i18n.labeller(lang),
            "csrf": csrf_token(request),
            "url_with": lambda **changes: url_with(request, **changes),
            "highlight": safe_highlight,
            "dev_login": dev_login_enabled(settings, request),
            "oidc": oidc_enabled(settings),
            "quote": quote,
            "when": local_time(settings.zone),
            "today": settings.today(),
            "yes_no": lambda value: yes_no(lang, bool(value)),
            # A bilingual message from the code, in the page's language.
            "say": lambda text: message_in(lang, text) if isinstance(text, str) else text,
            **(context or {}),
        },
        status_code=status_code,
    )
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.query_params.get("lang") in i18n.LANGUAGES:
        set_cookie(response, request, settings, LANG_COOKIE, request.query_params["lang"], max_age=31536000)
    if not request.cookies.get(CSRF_COOKIE):
        set_cookie(response, request, settings, CSRF_COOKIE, csrf_token(request), max_age=86400)
    return response


_ERROR_STATUS: list[tuple[type[DomainError], int, str]] = [
    (NotFound, 404, "未找到"),
    (Forbidden, 403, "无权操作"),
    (InvalidInput, 422, "请求有误"),
    (UnsupportedFile, 415, "请求有误"),
    (FileTooLarge, 413, "请求有误"),
    (Conflict, 409, "冲突"),
    (ServiceUnavailable, 503, "服务暂时不可用"),
]


def done(request: Request, target: str, message: str | None = None) -> RedirectResponse:
    """After a form: back to a page, which then says what was done (one message, once)."""
    response = RedirectResponse(target, status_code=303)
    if message:
        settings: Settings = request.app.state.settings
        set_cookie(
            response,
            request,
            settings,
            FLASH_COOKIE,
            sign(settings, "flash", {"message": message[:500]}, max_age=120),
            max_age=120,
        )
    return response


def error_page(request: Request, exc: DomainError) -> HTMLResponse:
    status, heading = next(((s, h) for kind, s, h in _ERROR_STATUS if isinstance(exc, kind)), (400, "出错了"))
    return render(request, "error.html", {"heading": heading, "message": exc.message}, status_code=status)


class WebRoute(APIRoute):
    """Pages answer in HTML: a domain error becomes an error page, no session a sign-in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except (LoginRequired, AuthenticationError) as exc:
                _rollback(request)
                if isinstance(exc, AuthenticationError):
                    log.info("web.session_refused", reason=str(exc))
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
                if isinstance(exc, AuthenticationError):
                    end_session(response)
                return response
            except DomainError as exc:
                # The session dependency commits after the page: what it began must not stay.
                _rollback(request)
                return error_page(request, exc)
            except RequestValidationError as exc:
                lang = language(request)
                message = validation_message(lang, exc.errors(), group="document_field")
                return error_page(request, InvalidInput(f"{i18n.translator(lang)('请求有误')}：{message}"))

        return page


def _rollback(request: Request) -> None:
    session: Session | None = getattr(request.state, "db", None)
    if session is not None:
        session.rollback()
