"""Sign-in, sessions and forms, without a browser: dev sign-in off by default, CSRF and
origin checks, forged cookies, and the OIDC authorisation-code flow against a small
provider served on loopback (its own RSA key, discovery, JWKS and token endpoint)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from archive.settings import Settings
from search_api.app import create_app
from search_api.web.core import safe_highlight
from search_api.web.security import unsign


def _csrf(client: TestClient) -> str:
    client.get("/login")
    return client.cookies["pa_csrf"]


def test_highlights_keep_only_em_as_markup() -> None:
    # Elasticsearch's html encoder output stays as it is; anything unencoded is escaped.
    assert safe_highlight("&lt;b&gt;甲方<em>合同</em>") == "&lt;b&gt;甲方<em>合同</em>"
    assert (
        safe_highlight("<script>x</script><em>a&b</em>") == "&lt;script&gt;x&lt;/script&gt;<em>a&amp;b</em>"
    )


def test_dev_sign_in_is_off_unless_enabled(settings: Settings) -> None:
    off = settings.model_copy(update={"web_dev_login": False})
    with TestClient(create_app(off)) as client:
        page = client.get("/login")
        assert "未配置登录方式" in page.text and 'action="/login/dev"' not in page.text
        form = {"sub": "x", "roles": "admin", "clearance": "confidential", "csrf_token": _csrf(client)}
        assert client.post("/login/dev", data=form, follow_redirects=False).status_code == 404
    production = settings.model_copy(update={"environment": "production", "jwt_secret": "x" * 40})
    with TestClient(create_app(production)) as client:
        form = {"sub": "x", "roles": "admin", "clearance": "confidential", "csrf_token": _csrf(client)}
        assert client.post("/login/dev", data=form, follow_redirects=False).status_code == 404


def test_pages_need_a_session_and_forms_need_their_token(client: TestClient) -> None:
    response = client.get("/search?q=合同", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/search")
    # A forged session cookie is no session.
    client.cookies.set("pa_session", "eyJ0b2tlbiI6ICJ4In0.forged")
    assert client.get("/search", follow_redirects=False).status_code == 303
    client.cookies.clear()

    form = {"sub": "zhang.wei", "roles": "staff", "departments": "采购部", "clearance": "internal"}
    assert client.post("/login/dev", data=form, follow_redirects=False).status_code == 403
    token = _csrf(client)
    cross_site = client.post(
        "/login/dev",
        data={**form, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert cross_site.status_code == 403
    signed_in = client.post(
        "/login/dev", data={**form, "csrf_token": token, "next": "//evil.example/x"}, follow_redirects=False
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/search"
    cookie = signed_in.headers.get_list("set-cookie")
    assert any(c.startswith("pa_session=") and "HttpOnly" in c and "SameSite=lax" in c for c in cookie)
    page = client.get("/search")
    assert page.status_code == 200 and "zhang.wei" in page.text
    # The upload endpoint of the page's script wants the CSRF header too.
    upload = client.post(
        "/web-api/documents",
        data={"partner_id": "x", "doc_type": "contract", "confidentiality": "internal"},
        files={"file": ("a.pdf", b"%PDF-1.4", "application/pdf")},
    )
    assert upload.status_code == 403
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    client.post("/logout", data={"csrf_token": client.cookies["pa_csrf"]}, follow_redirects=False)
    assert client.get("/search", follow_redirects=False).status_code == 303


class _Provider:
    """The smallest OpenID provider that the flow needs, on a loopback port."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # What the ID token is signed with; another key than the published one forges it.
        self.signing_key = self.key
        self.codes: dict[str, dict[str, str]] = {}
        self.claims: dict[str, object] = {}
        # RFC 6749 codes are single use; a lax provider lets one be exchanged again, so that
        # only the service's own spent sign-in state stops a replayed callback.
        self.codes_reusable = False
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, body: object, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - the handler's API
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(
                        {
                            "issuer": provider.issuer,
                            "authorization_endpoint": f"{provider.issuer}/authorize",
                            "token_endpoint": f"{provider.issuer}/token",
                            "jwks_uri": f"{provider.issuer}/jwks",
                        }
                    )
                elif url.path == "/jwks":
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                    self._json({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})
                elif url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = secrets.token_urlsafe(8)
                    provider.codes[code] = query
                    self.send_response(302)
                    target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
                    self.send_header("Location", target)
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:  # noqa: N802
                form = {
                    k: v[0]
                    for k, v in parse_qs(
                        self.rfile.read(int(self.headers["Content-Length"])).decode()
                    ).items()
                }
                code = form.get("code", "")
                asked = provider.codes.get(code) if provider.codes_reusable else provider.codes.pop(code, None)
                basic = base64.b64decode(self.headers.get("Authorization", "Basic ")[6:]).decode()
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
                    .rstrip(b"=")
                    .decode()
                )
                if asked is None or basic != "archive:s3cret" or challenge != asked["code_challenge"]:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                now = int(time.time())
                id_token = jwt.encode(
                    {
                        "iss": provider.issuer,
                        "aud": asked["client_id"],
                        "sub": "chen.jing",
                        "iat": now,
                        "exp": now + 600,
                        "nonce": asked["nonce"],
                        **provider.claims,
                    },
                    provider.signing_key,
                    algorithm="RS256",
                    headers={"kid": "k1"},
                )
                self._json({"access_token": "opaque", "token_type": "Bearer", "id_token": id_token})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def provider() -> Iterator[_Provider]:
    instance = _Provider()
    thread = threading.Thread(target=instance.server.serve_forever, daemon=True)
    thread.start()
    yield instance
    instance.server.shutdown()


@pytest.fixture
def oidc_settings(settings: Settings, provider: _Provider) -> Settings:
    provider.claims = {"roles": ["compliance"], "departments": ["合规部"], "clearance": "secret"}
    return settings.model_copy(
        update={
            "web_dev_login": False,
            "oidc_issuer": provider.issuer,
            "oidc_client_id": "archive",
            "oidc_client_secret": SecretStr("s3cret"),
            "oidc_redirect_url": "http://testserver/auth/callback",
        }
    )


def _to_the_provider_and_back(client: TestClient, provider: _Provider) -> str:
    """Start the sign-in, let the provider answer; the callback URL it sends the browser to."""
    start = client.get("/login/oidc?next=/compliance", follow_redirects=False)
    assert start.status_code == 303 and start.headers["location"].startswith(provider.issuer)
    back = urlsplit(httpx.get(start.headers["location"], follow_redirects=False).headers["location"])
    return f"{back.path}?{back.query}"


def _signed_out(client: TestClient) -> bool:
    page = client.get("/search", follow_redirects=False)
    return page.status_code == 303 and page.headers["location"].startswith("/login")


def test_oidc_sign_in_maps_the_providers_claims_into_a_token_the_api_accepts(
    oidc_settings: Settings, provider: _Provider
) -> None:
    with TestClient(create_app(oidc_settings)) as client:
        assert "/login/oidc" in client.get("/login").text
        # A different state is refused, and the attempt is spent.
        _to_the_provider_and_back(client, provider)
        forged = client.get("/auth/callback?code=x&state=forged", follow_redirects=False)
        assert forged.status_code == 400 and _signed_out(client)

        done = client.get(_to_the_provider_and_back(client, provider), follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/compliance"
        page = client.get("/compliance")
        assert page.status_code == 200
        badge = re.search(r'<span class="user"[^>]*>(.*?)</span></span>', page.text, re.S)
        assert badge and re.sub(r"<[^>]+>", "", badge.group(1)) == "chen.jing · 合规 · 合规部"

        # The session holds a bearer token the API accepts, with the provider's claims in it.
        session = unsign(oidc_settings, "session", client.cookies["pa_session"])
        assert session is not None
        claims = jwt.decode(session["token"], oidc_settings.jwt_secret.get_secret_value(), algorithms=["HS256"])
        assert {key: claims[key] for key in ("sub", "roles", "departments", "clearance")} == {
            "sub": "chen.jing", "roles": ["compliance"], "departments": ["合规部"], "clearance": "secret",
        }
        bearer = {"Authorization": f"Bearer {session['token']}"}
        report = client.get("/api/v1/reports/partners", params={"format": "csv"}, headers=bearer)
        assert report.status_code == 200, report.text  # compliance may; staff may not
        assert client.get("/api/v1/audit", headers=bearer).status_code == 403  # nor more than compliance


def test_a_spent_oidc_callback_cannot_be_replayed(oidc_settings: Settings, provider: _Provider) -> None:
    provider.codes_reusable = True  # only the service's own spent state can stop the replay
    with TestClient(create_app(oidc_settings)) as client:
        callback = _to_the_provider_and_back(client, provider)
        assert client.get(callback, follow_redirects=False).status_code == 303
        client.post("/logout", data={"csrf_token": client.cookies["pa_csrf"]}, follow_redirects=False)
        assert _signed_out(client)
        replayed = client.get(callback, follow_redirects=False)
        assert replayed.status_code == 400
        assert "登录状态不符或已过期" in replayed.text
        assert "pa_session" not in client.cookies and _signed_out(client)


@pytest.mark.parametrize(
    ("forgery", "reason"),
    [
        ({"nonce": "another-sign-in"}, "nonce 不符 (nonce mismatch)"),
        ({"iss": "http://127.0.0.1:1"}, "Invalid issuer"),
        ({"aud": "someone-else"}, "Audience doesn't match"),
        ("another key", "Signature verification failed"),
        ({"exp": 1}, "Signature has expired"),
    ],
    ids=["wrong-nonce", "wrong-issuer", "wrong-audience", "wrong-signature", "expired"],
)
def test_an_id_token_that_does_not_hold_signs_nobody_in(
    oidc_settings: Settings, provider: _Provider, forgery: object, reason: str
) -> None:
    if forgery == "another key":
        provider.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        provider.claims = {**provider.claims, **forgery}  # type: ignore[dict-item]
    with TestClient(create_app(oidc_settings)) as client:
        refused = client.get(_to_the_provider_and_back(client, provider), follow_redirects=False)
        assert refused.status_code == 400
        assert reason in html.unescape(refused.text)
        assert "pa_session" not in client.cookies and _signed_out(client)
