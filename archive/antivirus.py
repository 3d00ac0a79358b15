"""Virus scanning through ClamAV (安全性, DA/T 70 病毒感染检测): the daemon over its socket,
or the command-line scanner; not configured means not scanned, and the check says so.

The daemon is spoken to with its documented INSTREAM command: the Python clients on PyPI
(clamd, pyclamd) have not been maintained since 2014 and 2017.
"""

from __future__ import annotations

import socket
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from archive.settings import Settings

_CHUNK = 64 * 1024
_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Verdict:
    """`clean`, `infected` (with the signature's name) or `error` (why the scan did not run)."""

    engine: str
    result: str
    signature: str | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "engine": self.engine,
            "result": self.result,
            "signature": self.signature,
            "detail": self.detail,
        }


class Scanner:
    engine = "none"

    def scan(self, paths: Sequence[Path]) -> list[Verdict]:
        raise NotImplementedError


class ClamdScanner(Scanner):
    """clamd over a Unix socket (a path) or TCP (host:port), one INSTREAM per file."""

    engine = "clamd"

    def __init__(self, address: str) -> None:
        self.address = address

    def _connect(self) -> socket.socket:
        if "/" in self.address:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.settimeout(_TIMEOUT_SECONDS)
            connection.connect(self.address)
            return connection
        host, _, port = self.address.rpartition(":")
        return socket.create_connection((host or "127.0.0.1", int(port)), timeout=_TIMEOUT_SECONDS)

    def scan(self, paths: Sequence[Path]) -> list[Verdict]:
        return [self._scan_one(path) for path in paths]

    def _scan_one(self, path: Path) -> Verdict:
        try:
            with self._connect() as connection, path.open("rb") as stream:
                connection.sendall(b"zINSTREAM\0")
                while chunk := stream.read(_CHUNK):
                    connection.sendall(struct.pack("!L", len(chunk)) + chunk)
                connection.sendall(struct.pack("!L", 0))
                answer = b""
                while not answer.endswith(b"\0"):
                    part = connection.recv(4096)
                    if not part:
                        break
                    answer += part
        except OSError as exc:
            return Verdict(self.engine, "error", detail=f"clamd 无法连接 (clamd unreachable): {exc}")
        text = answer.rstrip(b"\0").decode("utf-8", "replace")
        # "stream: OK", "stream: Eicar-Signature FOUND", "INSTREAM size limit exceeded. ERROR"
        if text.endswith(" FOUND"):
            return Verdict(self.engine, "infected", signature=text.split(": ", 1)[-1].removesuffix(" FOUND"))
        if text.endswith(": OK"):
            return Verdict(self.engine, "clean")
        return Verdict(self.engine, "error", detail=text or "clamd 无应答 (no answer)")


class ClamscanScanner(Scanner):
    """The clamscan command, once for a whole batch of files (it loads its database each run)."""

    engine = "clamscan"

    def __init__(self, command: str, database: Path | None) -> None:
        self.command = command
        self.database = database

    def scan(self, paths: Sequence[Path]) -> list[Verdict]:
        if not paths:
            return []
        arguments = [self.command, "--no-summary", "--stdout"]
        if self.database is not None:
            arguments += ["-d", str(self.database)]
        try:
            finished = subprocess.run(
                [*arguments, "--", *map(str, paths)],
                capture_output=True,
                text=True,
                timeout=_TIMEOUT_SECONDS * max(1, len(paths) // 50 + 1),
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [
                Verdict(self.engine, "error", detail=f"clamscan 无法运行 (clamscan failed): {exc}")
            ] * len(paths)
        by_path: dict[str, Verdict] = {}
        for line in finished.stdout.splitlines():
            name, _, outcome = line.rpartition(": ")
            if outcome == "OK":
                by_path[name] = Verdict(self.engine, "clean")
            elif outcome.endswith(" FOUND"):
                by_path[name] = Verdict(self.engine, "infected", signature=outcome.removesuffix(" FOUND"))
        # Exit 0: nothing found, 1: something found, 2: an error (then the lines say which files).
        failure = (finished.stderr.strip().splitlines() or [f"exit {finished.returncode}"])[-1]
        return [
            by_path.get(str(path)) or Verdict(self.engine, "error", detail=f"clamscan: {failure}")
            for path in paths
        ]


def make_scanner(settings: Settings) -> Scanner | None:
    """The configured scanner, or None when virus scanning is not configured."""
    if settings.clamd_socket:
        return ClamdScanner(settings.clamd_socket)
    if settings.clamscan_command:
        return ClamscanScanner(settings.clamscan_command, settings.clamav_database)
    return None


NOT_CONFIGURED = Verdict("none", "not_configured", detail="未配置病毒扫描 (ClamAV is not configured)")
