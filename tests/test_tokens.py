"""Tokens: anything but a valid, unexpired HS256 token with the contract's claims is 401."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import ValidationError

from archive.settings import DEVELOPMENT_SECRET, Settings

GOOD_CLAIMS = {"sub": "zhang.wei", "roles": ["staff"], "departments": ["采购部"], "clearance": "internal"}


def _token(claims: dict, *, key: str = DEVELOPMENT_SECRET, algorithm: str = "HS256", ttl: int = 3600) -> str:
    payload = {**claims, "exp": datetime.now(UTC) + timedelta(seconds=ttl)}
    return jwt.encode(payload, key, algorithm=algorithm)


def _unsigned(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    exp = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({**claims, 'exp': exp})}."


def _tampered() -> str:
    header, payload, signature = _token(GOOD_CLAIMS).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize(
    ("token", "why"),
    [
        pytest.param(_tampered, "令牌无效 (invalid token): Signature verification failed", id="tampered-signature"),
        pytest.param(lambda: _unsigned(GOOD_CLAIMS), "令牌无效", id="alg-none"),
        pytest.param(
            lambda: _token(GOOD_CLAIMS, algorithm="HS512"), "The specified alg value is not allowed", id="wrong-algorithm"
        ),
        pytest.param(
            lambda: _token(GOOD_CLAIMS, key="another-secret-of-someone-else-123"),
            "Signature verification failed",
            id="wrong-key",
        ),
        pytest.param(lambda: _token(GOOD_CLAIMS, ttl=-10), "过期", id="expired"),
        pytest.param(
            lambda: _token({k: v for k, v in GOOD_CLAIMS.items() if k != "roles"}), "roles", id="no-roles"
        ),
        pytest.param(
            lambda: _token({k: v for k, v in GOOD_CLAIMS.items() if k != "clearance"}),
            "密级",
            id="no-clearance",
        ),
        pytest.param(lambda: _token({**GOOD_CLAIMS, "roles": ["superuser"]}), "未知角色", id="unknown-role"),
        pytest.param(
            lambda: _token({**GOOD_CLAIMS, "clearance": "top_secret"}), "未知密级", id="unknown-clearance"
        ),
        pytest.param(lambda: _token({**GOOD_CLAIMS, "sub": ""}), "sub", id="empty-sub"),
        pytest.param(lambda: "Bearer", "令牌无效", id="garbage"),
    ],
)
def test_bad_tokens_are_401_with_a_reason(client, token, why) -> None:
    response = client.get("/api/v1/search", headers={"Authorization": f"Bearer {token()}"})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert why in response.json()["detail"]


def test_a_good_token_passes(client) -> None:
    response = client.get("/api/v1/search", headers={"Authorization": f"Bearer {_token(GOOD_CLAIMS)}"})
    assert response.status_code == 200


@pytest.mark.parametrize("secret", [DEVELOPMENT_SECRET, "changeme", "short-but-not-default"])
def test_production_refuses_weak_or_default_secrets(secret) -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment="production", jwt_secret=secret)


def test_production_starts_with_a_strong_secret() -> None:
    settings = Settings(environment="production", jwt_secret="q7J2vR9xLmP4tW8nZ3bK6yH1sD5fG0aC")
    assert settings.environment == "production"
