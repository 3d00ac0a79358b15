"""Development defaults answer on loopback only, request by request.

`Settings.refuse_development_defaults_beyond_loopback` stops `serve` and `create_app` from
starting on a configured address other than loopback; a server started another way (say
`uvicorn --host 0.0.0.0`) is caught here: a request that reached the service through an
address other than loopback is not served by the development secret or sign-in.
"""

from __future__ import annotations

from starlette.types import Scope

from archive.auth import AuthenticationError
from archive.settings import Settings, is_loopback


def arrived_beyond_loopback(scope: Scope) -> str | None:
    """The local address a request came in on, if it is not loopback."""
    server = scope.get("server")
    host = str(server[0]) if server else ""
    return None if is_loopback(host) else host


def refuse_development_secret(settings: Settings, scope: Scope) -> None:
    """A token signed with the development secret counts only on loopback."""
    if not settings.uses_development_secret or settings.allow_dev_defaults_beyond_loopback:
        return
    host = arrived_beyond_loopback(scope)
    if host is not None:
        raise AuthenticationError(
            f"本服务仍使用开发用密钥，只接受本机请求 (the development JWT secret is accepted on loopback"
            f" only, not on {host}; set PARTNER_ARCHIVE_JWT_SECRET)"
        )


def development_sign_in_reachable(settings: Settings, scope: Scope) -> bool:
    return settings.allow_dev_defaults_beyond_loopback or arrived_beyond_loopback(scope) is None
