"""Sign-in with the company's OpenID Connect provider: the authorisation-code flow.

state and nonce (and a PKCE verifier) travel in a signed, short-lived HttpOnly cookie; the
code is exchanged with httpx; the ID token is verified against the provider's JWKS with
PyJWT (signature, issuer, audience, expiry, nonce). The session then holds a token that the
API accepts: the ID token itself when the API verifies the same provider's tokens
(`jwks_url` set), otherwise a token minted with the service's secret from the mapped claims.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from archive.auth import AuthenticationError, authenticate, mint_token
from archive.settings import Settings

_DISCOVERY_TTL = 3600
_discovery_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class OidcError(Exception):
    """The provider's answer cannot be trusted or used; the message says why."""


@dataclass(frozen=True)
class SignInStart:
    url: str
    state: str
    nonce: str
    verifier: str


def discovery(settings: Settings) -> dict[str, Any]:
    """The provider's /.well-known/openid-configuration, cached for an hour."""
    issuer = (settings.oidc_issuer or "").rstrip("/")
    cached = _discovery_cache.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    try:
        response = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError(f"无法读取登录服务配置 (OIDC discovery failed): {exc}") from exc
    if document.get("issuer", "").rstrip("/") != issuer:
        raise OidcError("登录服务的 issuer 与配置不符 (discovery issuer mismatch)")
    _discovery_cache[issuer] = (time.monotonic() + _DISCOVERY_TTL, document)
    return document


def begin(settings: Settings) -> SignInStart:
    """Where to send the browser, with fresh state, nonce and PKCE verifier."""
    config = discovery(settings)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": settings.oidc_redirect_url,
            "scope": settings.oidc_scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return SignInStart(f"{config['authorization_endpoint']}?{query}", state, nonce, verifier)


def finish(settings: Settings, *, code: str, nonce: str, verifier: str) -> tuple[str, int]:
    """Exchange the code, verify the ID token; the session token and its lifetime in seconds."""
    config = discovery(settings)
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else ""
    try:
        response = httpx.post(
            config["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": settings.oidc_redirect_url,
                "code_verifier": verifier,
            },
            auth=(settings.oidc_client_id or "", secret),
            headers={"Accept": "application/json"},
            timeout=10,
        )
        response.raise_for_status()
        id_token = response.json()["id_token"]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise OidcError(f"换取令牌失败 (token exchange failed): {exc}") from exc
    try:
        key = jwt.PyJWKClient(config["jwks_uri"]).get_signing_key_from_jwt(id_token).key
        claims = jwt.decode(
            id_token,
            key,
            algorithms=_ALGORITHMS,
            audience=settings.oidc_client_id,
            issuer=config["issuer"],
            options={"require": ["exp", "iat", "sub", "nonce"]},
        )
    except jwt.PyJWTError as exc:
        raise OidcError(f"身份令牌无效 (ID token rejected): {exc}") from exc
    if not secrets.compare_digest(str(claims.get("nonce")), nonce):
        raise OidcError("身份令牌的 nonce 不符 (nonce mismatch)")
    lifetime = max(60, int(claims["exp"] - time.time()))
    if settings.jwks_url:
        # The API verifies this provider's tokens itself: the session holds the ID token.
        token = id_token
    else:
        token = mint_token(
            settings,
            sub=str(claims["sub"]),
            roles=_as_list(claims.get(settings.oidc_roles_claim)),
            departments=_as_list(claims.get(settings.oidc_departments_claim)),
            clearance=str(claims.get(settings.oidc_clearance_claim) or "public"),
            ttl=timedelta(seconds=min(lifetime, settings.web_session_hours * 3600)),
        )
        lifetime = min(lifetime, settings.web_session_hours * 3600)
    try:
        authenticate(settings, token)
    except AuthenticationError as exc:
        raise OidcError(f"账号缺少本系统所需的信息 (the account cannot use this service): {exc}") from exc
    return token, lifetime


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    if isinstance(value, list):
        return [str(part) for part in value]
    return []
