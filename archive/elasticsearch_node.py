"""The embedded default: a local single-node Elasticsearch that the project fetches and runs.

The distribution is Elasticsearch's own `integ-test-zip` from Maven Central, pinned and
checksum-verified. It carries only the server's built-in analysis (standard tokenizer,
lowercase, shingle), which is why mappings/ builds Chinese search from those.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

ES_VERSION = "9.2.4"
ES_ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
ES_ZIP_SHA512 = (
    "5da6465950f7d26ca293794ead3d840f0698ce99bb15b5db7d10c19199e3431d"
    "ba21c83c737f4befa4fc282e12e5f215343a4cb7da52ac85e52b0c488e7b7057"
)
MIN_JAVA = 21
# Elasticsearch refuses to run as root; as root we run it as this system user instead.
SERVICE_USER = "partner-archive-es"


class LocalNodeError(RuntimeError):
    pass


def default_distribution_dir() -> Path:
    # Root's home is not readable by the service user, so root keeps the software elsewhere.
    if os.geteuid() == 0:
        return Path("/var/cache/partner-archive")
    return Path("~/.cache/partner-archive").expanduser()


def fetch_distribution(distribution_dir: Path) -> Path:
    """Download (via Maven), verify and unpack the pinned distribution; reuse it if present."""
    home = distribution_dir / f"elasticsearch-{ES_VERSION}"
    if (home / "bin" / "elasticsearch").exists():
        return home
    distribution_dir.mkdir(parents=True, exist_ok=True)
    if shutil.which("mvn") is None:
        raise LocalNodeError("需要 Maven (mvn) 来下载 Elasticsearch：apt-get install maven")
    with tempfile.TemporaryDirectory(dir=distribution_dir) as scratch:
        subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "dependency:copy",
                f"-Dartifact={ES_ARTIFACT}",
                f"-DoutputDirectory={scratch}",
            ],
            check=True,
            cwd=scratch,
        )
        archive = Path(scratch) / f"elasticsearch-{ES_VERSION}.zip"
        digest = hashlib.sha512(archive.read_bytes()).hexdigest()
        if digest != ES_ZIP_SHA512:
            raise LocalNodeError(f"Elasticsearch {ES_VERSION} 校验和不符 (checksum mismatch): got {digest}")
        unpacked = Path(scratch) / "unpacked"
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(unpacked)
        for script in (unpacked / f"elasticsearch-{ES_VERSION}" / "bin").iterdir():
            script.chmod(0o755)
        # A rename is atomic: a concurrent or interrupted fetch never leaves half a tree.
        try:
            os.replace(unpacked / f"elasticsearch-{ES_VERSION}", home)
        except OSError:
            if not (home / "bin" / "elasticsearch").exists():
                raise
    home.chmod(0o755)
    distribution_dir.chmod(0o755)
    return home


def find_java_home(preferred: Path | None = None) -> Path:
    candidates: list[Path] = []
    if preferred:
        candidates.append(preferred)
    for variable in ("ES_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(variable):
            candidates.append(Path(os.environ[variable]))
    jvm_root = Path("/usr/lib/jvm")
    if jvm_root.is_dir():
        candidates.extend(sorted(jvm_root.iterdir(), reverse=True))
    seen: list[str] = []
    for home in candidates:
        java = home / "bin" / "java"
        if not java.exists():
            continue
        version = _java_major(java)
        seen.append(f"{home} ({version})")
        if version is not None and version >= MIN_JAVA:
            return home
    raise LocalNodeError(
        f"Elasticsearch {ES_VERSION} 需要 Java {MIN_JAVA} 或更高版本 (needs Java {MIN_JAVA}+); "
        f"found: {', '.join(seen) or 'none'}. Set PARTNER_ARCHIVE_ES_JAVA_HOME."
    )


def _java_major(java: Path) -> int | None:
    result = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=False, timeout=30)
    match = re.search(r'version "(\d+)', result.stderr)
    return int(match.group(1)) if match else None


def transport_ports_for(http_port: int) -> str:
    """The transport ports a node may bind: the hundred above its HTTP port's hundred-step.

    Elasticsearch binds the first free port of a range, so a second archive (or a test run
    beside a running service) on the same machine starts instead of failing on 9300.
    """
    first = min(http_port + 100, 65_435)
    return f"{first}-{first + 99}"


@dataclass
class LocalNode:
    """One node on loopback, its state under `home` (config, data, logs).

    Alone by default (`discovery.type: single-node`); given `seed_transport_ports` and
    `initial_masters`, one member of a cluster of such nodes (the tests' and bench's
    three-node cluster).
    """

    home: Path
    distribution_dir: Path
    http_port: int = 9200
    transport_port: int | None = None
    """None: the first free port of `transport_ports_for(http_port)`."""
    heap_mb: int = 512
    java_home: Path | None = None
    node_name: str = "local"
    cluster_name: str = "partner-archive-local"
    seed_transport_ports: tuple[int, ...] = ()
    initial_masters: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "elasticsearch.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "partner-archive.log"

    def start(self, *, timeout: float = 180.0, wait: bool = True) -> None:
        """Start the node in the background and wait until it answers; no-op if it runs.

        A cluster member answers only once a majority of its masters formed the cluster:
        start those with `wait=False` side by side, then `wait_until_healthy` each.
        """
        if self.is_healthy():
            return
        if self.pid() is not None:
            raise LocalNodeError(
                f"Elasticsearch (pid {self.pid()}) 已在运行但没有响应 {self.url}"
                " (running but not answering); try `partner-archive es stop`"
            )
        distribution = fetch_distribution(self.distribution_dir)
        java_home = find_java_home(self.java_home)
        config_dir = self._configure(distribution)
        env = {
            **os.environ,
            "ES_PATH_CONF": str(config_dir),
            "ES_JAVA_HOME": str(java_home),
            "ES_TMPDIR": str(self.home / "tmp"),
            "ES_JAVA_OPTS": "",
        }
        command = [str(distribution / "bin" / "elasticsearch"), "-d", "-p", str(self.pid_file)]
        if os.geteuid() == 0:
            self._hand_over_to_service_user()
            command = [
                "setpriv",
                f"--reuid={SERVICE_USER}",
                f"--regid={SERVICE_USER}",
                "--init-groups",
                *command,
            ]
            env["HOME"] = str(self.home)
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LocalNodeError(
                "Elasticsearch 启动失败 (failed to start):\n"
                + (result.stderr or result.stdout)[-3000:]
                + f"\nlog: {self.log_file}"
            )
        if wait:
            self.wait_until_healthy(timeout=timeout)

    def _configure(self, distribution: Path) -> Path:
        config_dir = self.home / "config"
        for name in ("data", "logs", "tmp", "config/jvm.options.d"):
            (self.home / name).mkdir(parents=True, exist_ok=True)
        for name in ("jvm.options", "log4j2.properties"):
            shutil.copyfile(distribution / "config" / name, config_dir / name)
        (config_dir / "jvm.options.d" / "heap.options").write_text(
            f"-Xms{self.heap_mb}m\n-Xmx{self.heap_mb}m\n"
        )
        transport = self.transport_port or transport_ports_for(self.http_port)
        if self.seed_transport_ports:
            seeds = ", ".join(f'"127.0.0.1:{port}"' for port in self.seed_transport_ports)
            discovery = [
                f"discovery.seed_hosts: [{seeds}]",
                f"cluster.initial_master_nodes: [{', '.join(self.initial_masters)}]",
            ]
        else:
            discovery = ["discovery.type: single-node"]
        # Loopback only, no security: it is reachable from this machine alone.
        (config_dir / "elasticsearch.yml").write_text(
            "\n".join(
                [
                    f"cluster.name: {self.cluster_name}",
                    f"node.name: {self.node_name}",
                    "network.host: 127.0.0.1",
                    f"http.port: {self.http_port}",
                    f"transport.port: {transport}",
                    *discovery,
                    "xpack.security.enabled: false",
                    f"path.data: {self.home / 'data'}",
                    f"path.logs: {self.home / 'logs'}",
                    "cluster.routing.allocation.disk.threshold_enabled: false",
                    "action.destructive_requires_name: true",
                    "",
                ]
            )
        )
        return config_dir

    def _hand_over_to_service_user(self) -> None:
        try:
            account = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                check=True,
            )
            account = pwd.getpwnam(SERVICE_USER)
        for path in [self.home, *self.home.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid)
        blocked = [parent for parent in self.home.parents if not os.stat(parent).st_mode & 0o001]
        if blocked:
            raise LocalNodeError(
                f"Elasticsearch 以用户 {SERVICE_USER} 运行，无法进入目录 {blocked[0]}"
                f" (the service user cannot traverse {blocked[0]}); "
                "set PARTNER_ARCHIVE_DATA_DIR to a directory under world-traversable parents"
            )

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def is_healthy(self) -> bool:
        try:
            response = httpx.get(f"{self.url}/_cluster/health", params={"timeout": "1s"}, timeout=3)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json().get("status") in ("green", "yellow")

    def wait_until_healthy(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_healthy():
                return
            if self.pid() is None and self.pid_file.exists():
                break
            time.sleep(0.5)
        raise LocalNodeError(
            f"Elasticsearch 未在 {timeout:.0f} 秒内就绪 (not healthy in time); log: {self.log_file}"
        )

    def stop(self, *, timeout: float = 60.0) -> bool:
        """Stop the node; True if one was running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                self.pid_file.unlink(missing_ok=True)
                return True
            time.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL, as a crashed machine would go: no goodbye to the cluster."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        while self.pid() is not None:
            time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> str:
        pid = self.pid()
        if pid is None:
            return "stopped"
        return f"running (pid {pid}, {self.url}, {'healthy' if self.is_healthy() else 'not answering'})"


def local_cluster(
    home: Path, *, distribution_dir: Path, http_ports: list[int], transport_ports: list[int], heap_mb: int
) -> list[LocalNode]:
    """Nodes of one loopback cluster (all master-eligible data nodes), not yet started."""
    names = tuple(f"node-{number}" for number in range(1, len(http_ports) + 1))
    return [
        LocalNode(
            home=home / name,
            distribution_dir=distribution_dir,
            http_port=http_port,
            transport_port=transport_port,
            heap_mb=heap_mb,
            node_name=name,
            cluster_name=f"partner-archive-{home.name}",
            seed_transport_ports=tuple(transport_ports),
            initial_masters=names,
        )
        for name, http_port, transport_port in zip(names, http_ports, transport_ports, strict=True)
    ]


def start_cluster(nodes: list[LocalNode], *, timeout: float = 180.0) -> None:
    """Start every node, then wait for the cluster they form."""
    for node in nodes:
        node.start(wait=False)
    for node in nodes:
        node.wait_until_healthy(timeout=timeout)
