"""Finding 4: a request body is refused before it is read, when too large or from nobody.

Run against uvicorn on a socket: a server that reads the declared body before answering
never answers a client that sends only part of it, and the read times out.
"""

from __future__ import annotations

import os
import select
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.auth import mint_token
from archive.settings import Settings
from search_api.app import create_app
from search_api.web.security import sign
from tests.security.conftest import live_server, raw_request

MB = 1024 * 1024
BOUNDARY = "----partner-archive-test"


@pytest.fixture
def small(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_upload_mb": 1, "max_body_kb": 64})


@pytest.fixture
def port(small: Settings) -> Iterator[int]:
    with live_server(create_app(small)) as bound:
        yield bound


def _token(settings: Settings, roles: str = "staff") -> str:
    return mint_token(settings, sub="zhang.wei", roles=roles.split(","), departments=["采购部"],
                      clearance="internal")


def _multipart_head(path: str, length: int, extra: str = "") -> str:
    return (
        f"POST {path} HTTP/1.1\nHost: 127.0.0.1\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\nContent-Length: {length}\n{extra}"
    )


FIRST_PART = (
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
    "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
).encode()


def test_an_upload_without_credentials_is_refused_before_its_body(port: int, small: Settings) -> None:
    for extra in ("", "Authorization: Bearer forged.token.here\n", "Authorization: Basic eDp5\n"):
        answer = raw_request(port, _multipart_head("/api/v1/documents", 50 * MB, extra), FIRST_PART)
        assert answer.status == 401, (extra, answer)
        assert "令牌" in answer.body.decode()

    # The web upload: a session cookie, and the CSRF header its page sends.
    session = sign(small, "session", {"token": _token(small)}, max_age=3600)
    for extra, status in (
        ("", 401),
        ("Cookie: pa_session=forged.value\n", 401),
        (f"Cookie: pa_session={session}; pa_csrf=abc\n", 403),
        (f"Cookie: pa_session={session}; pa_csrf=abc\nX-CSRF-Token: other\n", 403),
    ):
        answer = raw_request(port, _multipart_head("/web-api/documents", 50 * MB, extra), FIRST_PART)
        assert answer.status == status, (extra, answer)


def test_a_declared_length_over_the_limit_is_refused_at_once(port: int, small: Settings) -> None:
    bearer = f"Authorization: Bearer {_token(small)}\n"
    answer = raw_request(port, _multipart_head("/api/v1/documents", 2 * MB + 1, bearer), FIRST_PART)
    assert answer.status == 413 and "超过上限" in answer.body.decode(), answer
    session = sign(small, "session", {"token": _token(small)}, max_age=3600)
    web = f"Cookie: pa_session={session}; pa_csrf=abc\nX-CSRF-Token: abc\n"
    answer = raw_request(port, _multipart_head("/web-api/documents", 2 * MB + 1, web), FIRST_PART)
    assert answer.status == 413, answer
    # A JSON body, and a route that takes none at all: 64 KB here.
    for path in ("/api/v1/partners", "/api/v1/borrow-requests/x/return"):
        head = f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n" \
               f"Content-Length: {65 * 1024}\n{bearer}"
        answer = raw_request(port, head, b'{"name": "')
        assert answer.status == 413, (path, answer)


def _deleted_temp_files() -> set[str]:
    tmp = os.path.realpath(tempfile.gettempdir())
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(tmp) and target.endswith("(deleted)"):
            found.add(target)
    return found


def test_a_body_growing_past_the_limit_is_cut_off_and_nothing_stays(port: int, small: Settings) -> None:
    before = _deleted_temp_files()
    head = (
        f"POST /api/v1/documents HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer {_token(small)}\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\nTransfer-Encoding: chunked\n"
    )
    total, sent, chunk = 40 * MB, 0, b"\0" * (64 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        first = FIRST_PART
        connection.sendall(f"{len(first):x}\r\n".encode() + first + b"\r\n")
        answered = False
        try:
            while sent < total:
                connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
                if select.select([connection], [], [], 0)[0]:
                    answered = True
                    break
        except (BrokenPipeError, ConnectionResetError):
            answered = True
        response = connection.recv(65536)
    assert answered and sent < total, f"the server read {sent} bytes before answering"
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    staging = Path(small.originals_dir) / ".staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    assert _deleted_temp_files() <= before
