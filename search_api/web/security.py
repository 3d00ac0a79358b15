"""Cookies of the web interface: the signed session (the API's own bearer token), the
short-lived OIDC sign-in state, the CSRF token, and where a sign-in may send the user next."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from archive.errors import Forbidden
from archive.settings import Settings

SESSION_COOKIE = "pa_session"
CSRF_COOKIE = "pa_csrf"
OIDC_COOKIE = "pa_oidc"
LANG_COOKIE = "pa_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _key(settings: Settings, purpose: str) -> bytes:
    # One key per purpose, so a value signed for one cookie is worthless as another.
    root = settings.web_session_secret or settings.jwt_secret
    return hmac.new(
        root.get_secret_value().encode(), f"partner-archive web {purpose}".encode(), "sha256"
    ).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(settings: Settings, purpose: str, payload: dict[str, Any], *, max_age: int) -> str:
    body = _b64(json.dumps({**payload, "_exp": int(time.time()) + max_age}).encode())
    mac = _b64(hmac.new(_key(settings, purpose), body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def unsign(settings: Settings, purpose: str, value: str | None) -> dict[str, Any] | None:
    """The payload of a value this service signed for `purpose`, or None if forged or stale."""
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    expected = _b64(hmac.new(_key(settings, purpose), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("_exp", 0) < time.time():
        return None
    return payload


def _secure(settings: Settings, request: Request) -> bool:
    return settings.web_cookie_secure or request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, settings: Settings, name: str, value: str, *, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(settings, request),
    )


def session_token(settings: Settings, request: Request) -> str | None:
    """The bearer token held by the session cookie, if the cookie is genuine."""
    payload = unsign(settings, "session", request.cookies.get(SESSION_COOKIE))
    token = payload.get("token") if payload else None
    return token if isinstance(token, str) else None


def start_session(
    response: Response, request: Request, settings: Settings, *, token: str, max_age: int
) -> None:
    value = sign(settings, "session", {"token": token}, max_age=max_age)
    set_cookie(response, request, settings, SESSION_COOKIE, value, max_age=max_age)
    # A new session gets a new CSRF token: one planted before sign-in is worthless after it.
    set_cookie(response, request, settings, CSRF_COOKIE, secrets.token_urlsafe(24), max_age=max_age)


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def csrf_token(request: Request) -> str:
    """The page's CSRF token: the cookie's, or a new one that the page then sets."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing:
        return existing
    token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(24)
    request.state.new_csrf = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Double-submit token and, when the browser says where the request came from, the origin."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and origin != "null":
        parts = urlsplit(origin)
        if parts.netloc != request.headers.get("host", request.url.netloc):
            raise Forbidden("请求来源不符 (cross-site request refused)")
    cookie = request.cookies.get(CSRF_COOKIE)
    submitted = submitted or request.headers.get(CSRF_HEADER)
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise Forbidden("表单已过期，请刷新页面后重试 (missing or stale CSRF token; reload the page)")


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/search"
    return target
