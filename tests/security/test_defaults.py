"""Finding 11: the development secret and the development sign-in answer on loopback only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from archive.auth import mint_token
from archive.settings import Settings, UnsafeExposure
from search_api.app import create_app
from tests.security.conftest import live_server

EVERY_ADDRESS = "0.0.0.0"  # noqa: S104 - listening beyond loopback is what is tested
STRONG = "c2VjdXJpdHktdGVzdC1zZWNyZXQtb2YtNDgtcmFuZG9tLWJ5dGVz"


def _network_address() -> str:
    """This machine's address on its network (not loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.123", 9))  # nothing is sent: this only picks the route
        address = probe.getsockname()[0]
    assert not address.startswith("127."), "the machine needs a network interface for this test"
    return address


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"web_dev_login": False}, True),  # the development secret
        ({"jwt_secret": SecretStr(STRONG), "web_dev_login": True}, True),  # the development sign-in
        ({"jwt_secret": SecretStr(STRONG), "web_dev_login": False}, False),
        ({"allow_dev_defaults_beyond_loopback": True}, False),  # forced, explicitly
        ({"host": "::1"}, False),
        ({"host": "127.0.0.1", "web_dev_login": True}, False),
    ],
)
def test_starting_beyond_loopback_with_development_defaults_is_refused(settings, changes, refused) -> None:
    configured = settings.model_copy(update={"host": EVERY_ADDRESS, **changes})
    if refused:
        with pytest.raises(UnsafeExposure, match="ALLOW_DEV_DEFAULTS_BEYOND_LOOPBACK"):
            create_app(configured)
    else:
        create_app(configured)


def test_the_serve_command_refuses_before_it_listens(settings: Settings) -> None:
    env = {**os.environ, "PARTNER_ARCHIVE_DATA_DIR": str(settings.data_dir), "PARTNER_ARCHIVE_HOST": EVERY_ADDRESS,
           "PARTNER_ARCHIVE_ES_URL": settings.effective_es_url, "PARTNER_ARCHIVE_PORT": "1"}
    command = [str(Path(sys.executable).with_name("partner-archive")), "serve"]
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert finished.returncode == 2, finished.stdout + finished.stderr
    assert "PARTNER_ARCHIVE_JWT_SECRET" in finished.stderr and EVERY_ADDRESS in finished.stderr


def test_a_request_from_beyond_loopback_is_not_served_by_development_defaults(settings: Settings) -> None:
    # Configured for loopback, started by hand on every address: each request is judged.
    local = settings.model_copy(update={"web_dev_login": True})
    token = mint_token(local, sub="zhang.wei", roles=["staff"], departments=["采购部"], clearance="internal")
    address = _network_address()
    with live_server(create_app(local), host=EVERY_ADDRESS) as port:
        for host, status in (("127.0.0.1", 200), (address, 401)):
            answer = httpx.get(f"http://{host}:{port}/api/v1/partners", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == status, (host, answer.text)
        remote = httpx.Client(base_url=f"http://{address}:{port}")
        assert 'action="/login/dev"' not in remote.get("/login").text
        form = {"sub": "x", "roles": "admin", "clearance": "confidential", "csrf_token": "t"}
        assert remote.post("/login/dev", data=form, cookies={"pa_csrf": "t"}).status_code == 404
        local_client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        assert 'action="/login/dev"' in local_client.get("/login").text
