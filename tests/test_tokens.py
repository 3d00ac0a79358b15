"""Tokens: anything but a valid, unexpired HS256 token with the contract's claims is 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
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


class _Jwks:
    """A company SSO's key set on a loopback port: one RSA key, published under kid "k1"."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the handler's API
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks"


@pytest.fixture
def sso():  # type: ignore[no-untyped-def]
    keys = _Jwks()
    thread = threading.Thread(target=keys.server.serve_forever, daemon=True)
    thread.start()
    yield keys
    keys.server.shutdown()


ISSUER, AUDIENCE = "https://sso.minjiang-scm.cn", "partner-archive"


def _rs256(key, *, kid: str = "k1", **overrides: object) -> str:  # type: ignore[no-untyped-def]
    claims = {**GOOD_CLAIMS, "iss": ISSUER, "aud": AUDIENCE, "exp": datetime.now(UTC) + timedelta(hours=1)}
    return jwt.encode({**claims, **overrides}, key, algorithm="RS256", headers={"kid": kid})


def test_rs256_tokens_through_jwks_url_hold_only_with_the_right_audience_issuer_and_key(settings, sso) -> None:
    from cryptography.hazmat.primitives import serialization
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    configured = settings.model_copy(update={"jwks_url": sso.url, "jwt_audience": AUDIENCE, "jwt_issuer": ISSUER})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = sso.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    cases = {
        "wrong audience": (_rs256(sso.key, aud="another-service"), "Audience doesn't match"),
        "wrong issuer": (_rs256(sso.key, iss="https://sso.evil.example"), "Invalid issuer"),
        "wrong key": (_rs256(stranger), "Signature verification failed"),
        "unknown key id": (_rs256(stranger, kid="k2"), "Unable to find a signing key"),
        "expired": (_rs256(sso.key, exp=datetime.now(UTC) - timedelta(seconds=10)), "过期"),
        "the service's own HS256": (_token(GOOD_CLAIMS), "令牌无效"),
    }
    with TestClient(create_app(configured), raise_server_exceptions=False) as client:
        good = client.get("/api/v1/search", headers={"Authorization": f"Bearer {_rs256(sso.key)}"})
        assert good.status_code == 200, good.text
        for case, (token, why) in cases.items():
            refused = client.get("/api/v1/search", headers={"Authorization": f"Bearer {token}"})
            assert (refused.status_code, why in refused.json()["detail"]) == (401, True), (case, refused.text)
        # The public key used as an HS256 secret (algorithm confusion) is no key at all.
        header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": "k1"}).encode()).rstrip(b"=")
        claims = {**GOOD_CLAIMS, "iss": ISSUER, "aud": AUDIENCE, "exp": int(datetime.now(UTC).timestamp()) + 600}
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
        signature = hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()
        confused = b".".join([header, body, base64.urlsafe_b64encode(signature).rstrip(b"=")]).decode()
        refused = client.get("/api/v1/search", headers={"Authorization": f"Bearer {confused}"})
        assert refused.status_code == 401 and "The specified alg value is not allowed" in refused.json()["detail"]


@pytest.mark.parametrize("token", [None, "Bearer", _tampered], ids=["missing", "garbage", "tampered"])
def test_search_refuses_a_bad_token_before_judging_its_parameters(client, token) -> None:
    """The search route checks the token itself (outside the authenticated router): still first."""
    headers = {} if token is None else {"Authorization": f"Bearer {token if isinstance(token, str) else token()}"}
    response = client.get("/api/v1/search", params={"page": 0, "size": 1000, "doc_type": "nonsense"},
                          headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
