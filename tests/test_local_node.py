"""The embedded node: a second one on the same machine starts beside the first."""

from __future__ import annotations

import errno
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from archive.settings import Settings
from cli.main import _local_node
from tests.conftest import _free_port


@contextmanager
def _held(port: int) -> Iterator[None]:
    """Hold a loopback port as another program (another archive's node) would."""
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", port))
            holder.listen()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            # Already held by someone else: held all the same.
        yield


def test_local_node_starts_while_the_usual_transport_ports_are_taken() -> None:
    http_port = _free_port()
    # Under /tmp with 0755: as root the node runs as a service user that must reach it.
    data_dir = Path(tempfile.mkdtemp(prefix="partner-archive-second-es-"))
    data_dir.chmod(0o755)
    settings = Settings(data_dir=data_dir, es_local_port=http_port, es_local_heap_mb=256)
    node = _local_node(settings)
    try:
        # 9300 is where a first archive's node (or the old fixed setting) sits; the derived
        # range's first port is taken too, so the node must move on to a free one.
        with _held(9300), _held(http_port + 100):
            node.start()
            transport = httpx.get(f"{node.url}/_nodes/_local/transport", timeout=10).json()
        (address,) = [n["transport"]["publish_address"] for n in transport["nodes"].values()]
        port = int(address.rsplit(":", 1)[1])
        assert http_port + 100 < port < http_port + 200
    finally:
        node.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
