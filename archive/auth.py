"""Bearer tokens: HS256 with the configured secret, or RS256 verified against an SSO's JWKS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from sqlalchemy.orm import Session

from archive.documents import active_grants
from archive.permissions import CONFIDENTIALITY_LEVELS, ROLES, User
from archive.settings import Settings


class AuthenticationError(Exception):
    """The token is missing, malformed, forged, expired or lacks what the contract requires."""


def mint_token(
    settings: Settings,
    *,
    sub: str,
    roles: list[str],
    departments: list[str],
    clearance: str,
    ttl: timedelta = timedelta(hours=8),
) -> str:
    """A token the service accepts, signed with the configured HS256 secret."""
    claims = _checked_claims({"sub": sub, "roles": roles, "departments": departments, "clearance": clearance})
    now = datetime.now(UTC)
    payload: dict[str, Any] = {**claims, "iat": now, "exp": now + ttl}
    if settings.jwt_issuer:
        payload["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        payload["aud"] = settings.jwt_audience
    return jwt.encode(payload, settings.jwt_secret.get_secret_value(), algorithm="HS256")


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True)


def authenticate(settings: Settings, token: str) -> User:
    """The user a token stands for; AuthenticationError says why it is refused."""
    options = {"require": ["exp", "sub"]}
    try:
        if settings.jwks_url:
            key: Any = _jwks_client(settings.jwks_url).get_signing_key_from_jwt(token).key
            algorithms = ["RS256"]
        else:
            key = settings.jwt_secret.get_secret_value()
            algorithms = [settings.jwt_algorithm]
        payload = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options=options,
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError("令牌已过期 (token expired)") from exc
    except jwt.PyJWTError as exc:
        raise AuthenticationError(f"令牌无效 (invalid token): {exc}") from exc
    claims = _checked_claims(payload)
    return User(
        sub=claims["sub"],
        roles=frozenset(claims["roles"]),
        departments=frozenset(claims["departments"]),
        clearance=claims["clearance"],
    )


def resolve_user(settings: Settings, session: Session, token: str) -> User:
    """The caller behind a token, with the documents they hold a borrow grant for."""
    return with_grants(session, authenticate(settings, token))


def with_grants(session: Session, user: User) -> User:
    """An authenticated caller with the documents they hold a borrow grant for, read now."""
    return User(
        sub=user.sub,
        roles=user.roles,
        departments=user.departments,
        clearance=user.clearance,
        granted_document_ids=active_grants(session, user_sub=user.sub),
    )


def _checked_claims(payload: dict[str, Any]) -> dict[str, Any]:
    sub, roles = payload.get("sub"), payload.get("roles")
    departments, clearance = payload.get("departments", []), payload.get("clearance")
    if not isinstance(sub, str) or not sub.strip():
        raise AuthenticationError("令牌缺少 sub (missing claim: sub)")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise AuthenticationError("令牌缺少 roles (missing claim: roles)")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise AuthenticationError(f"未知角色 (unknown roles): {', '.join(unknown)}")
    if not isinstance(departments, list) or not all(isinstance(d, str) for d in departments):
        raise AuthenticationError("departments 必须是字符串列表 (departments must be a list)")
    if clearance not in CONFIDENTIALITY_LEVELS:
        raise AuthenticationError(
            f"未知密级 (unknown clearance): {clearance!r}; one of {', '.join(CONFIDENTIALITY_LEVELS)}"
        )
    return {"sub": sub, "roles": roles, "departments": departments, "clearance": clearance}
