"""One node against a three-node cluster on this machine: indexing and search rate, and how
long the cluster takes to be whole again after a lost node returns.

All nodes share the same cores here, so the cluster cannot be faster: the figures say what
the replica and the coordination cost, and how quickly a node that comes back catches up.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from archive.elasticsearch_node import LocalNode, default_distribution_dir, local_cluster, start_cluster
from archive.search_index import documents_alias
from archive.settings import Settings
from bench import archive_data, inputs
from bench.common import OUT, VENV_BIN, Figure, api_process, free_port, log, prepare_data_dir, service_env
from bench.search import CLIENTS, QUERIES, _load, api_sender

HEAP_MB = 512


@contextmanager
def three_nodes() -> Iterator[list[LocalNode]]:
    # Under /tmp with 0755: as root the nodes run as a service user that must reach them.
    home = Path(tempfile.mkdtemp(prefix="partner-archive-bench-cluster-"))
    home.chmod(0o755)
    nodes = local_cluster(home, distribution_dir=default_distribution_dir(),
                          http_ports=[free_port() for _ in range(3)],
                          transport_ports=[free_port() for _ in range(3)], heap_mb=HEAP_MB)
    try:
        start_cluster(nodes, timeout=600)
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        shutil.rmtree(home, ignore_errors=True)


def _reindex_rate(env: dict[str, str], documents: int) -> float:
    started = time.perf_counter()
    result = subprocess.run([str(VENV_BIN / "partner-archive"), "reindex"], env=env, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"reindex failed: {result.stdout}\n{result.stderr[-3000:]}")
    return documents / (time.perf_counter() - started)


def _search_rate(env: dict[str, str], data_dir, requests: int) -> float:  # type: ignore[no-untyped-def]
    with api_process(env, data_dir / "api-cluster.log") as url:
        send = api_sender(url, data_dir)
        _load(send, len(QUERIES) * 4)
        started = time.perf_counter()
        _load(send, requests)
        return requests / (time.perf_counter() - started)


def _health(node: LocalNode) -> str:
    return httpx.get(f"{node.url}/_cluster/health", timeout=30).json()["status"]


def _recovery_seconds(nodes: list[LocalNode], alias: str) -> tuple[float, float]:
    """Kill the node holding the primary; seconds until the rest answer yellow, and until green
    again once it is back (counted from the moment the returning node answers)."""
    shards = httpx.get(f"{nodes[0].url}/_cat/shards/{alias}", params={"format": "json"}, timeout=30).json()
    (primary,) = [shard["node"] for shard in shards if shard["prirep"] == "p"]
    victim = next(node for node in nodes if node.node_name == primary)
    survivor = next(node for node in nodes if node is not victim)
    victim.kill()
    killed = time.perf_counter()
    while _health(survivor) not in ("yellow", "green"):
        time.sleep(0.2)
    failover = time.perf_counter() - killed
    victim.start(timeout=600)
    back = time.perf_counter()
    while _health(survivor) != "green":
        time.sleep(0.2)
    return failover, time.perf_counter() - back


def measure(es_url: str, documents: int, requests: int) -> list[Figure]:
    data_dir = OUT / "cluster" / "data"
    prepare_data_dir(data_dir)
    archive_data.write_records(Settings(data_dir=data_dir).resolved_database_url,
                               inputs.synthetic_partners(2000), documents)
    rates: dict[str, tuple[float, float]] = {}
    failover = recovery = 0.0
    with three_nodes() as nodes:
        for label, url, replicas in (("1 node", es_url, 0), ("3 nodes", ",".join(n.url for n in nodes), 1)):
            prefix = f"bench-cluster-{time.time_ns()}"
            env = service_env(data_dir, url, prefix, PARTNER_ARCHIVE_ES_REPLICAS=str(replicas))
            indexing = _reindex_rate(env, documents)
            searching = _search_rate(env, data_dir, requests)
            rates[label] = (indexing, searching)
            log(f"cluster: {label}: reindex {indexing:,.0f} docs/s, search {searching:.1f} requests/s")
        failover, recovery = _recovery_seconds(nodes, documents_alias(prefix))
        log(f"cluster: primary's node killed → yellow in {failover:.1f} s; back → green in {recovery:.1f} s")
    setup = (f"three local nodes of the pinned distribution on loopback ({HEAP_MB} MB heap each), one replica, "
             "against the bench's single node; all on the same cores")
    return [
        Figure(name="cluster reindex rate, 3 nodes vs 1", unit="docs/s", samples=[rates["3 nodes"][0]],
               reference_samples=[rates["1 node"][0]], reference="the same reindex on one node, no replica",
               higher_is_better=True, target_ratio=None,
               command=f"partner-archive reindex of {documents:,} documents; {setup}"),
        Figure(name="cluster search rate, 3 nodes vs 1", unit="requests/s", samples=[rates["3 nodes"][1]],
               reference_samples=[rates["1 node"][1]], reference="the same searches against one node",
               higher_is_better=True, target_ratio=None,
               command=f"{requests} searches through the API, {CLIENTS} concurrent clients; {setup}"),
        Figure(name="cluster recovery after the node returns", unit="s", samples=[recovery],
               reference_samples=[], reference="—", higher_is_better=False, target_ratio=None,
               command="the node holding the primary killed (SIGKILL), then started again: seconds from its "
               "answering to the cluster green", extra={"failover_to_yellow_s": round(failover, 1)}),
    ]
