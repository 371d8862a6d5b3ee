"""Start, stop and inspect the local infrastructure: Kafka, SecantusDB and Keycloak.

No Docker engine is available on our machines, so the broker runs from the
official Apache Kafka jars (resolved by infra/kafka/pom.xml), the store is
SecantusDB's Rust server, built once per machine (infra/store_server.py), or its
Python server from PyPI as a loud fallback, and the identity provider is the official
Keycloak distribution (infra/keycloak/, cached under ~/.cache/lienthong/). State and
logs live under .local/ (git-ignored).

    python infra/devstack.py start|stop|status|running [store|kafka|keycloak ...]

Starting is idempotent: a component that already answers is left alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the `infra` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra import processes
from infra.store_server import choose_store_server

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the infra and shared packages importable
    sys.path.insert(0, str(ROOT))
COMPONENTS = ("store", "kafka", "keycloak")
LOCAL = Path(os.environ.get("LT_LOCAL_DIR", ROOT / ".local"))
KAFKA_LIBS = Path(os.environ.get("LT_KAFKA_LIBS", ROOT / ".local" / "kafka" / "libs"))
KAFKA_POM = ROOT / "infra" / "kafka" / "pom.xml"
LOG4J_CONFIG = ROOT / "infra" / "kafka" / "log4j2.yaml"


@dataclass(frozen=True)
class Ports:
    kafka: int
    controller: int
    store: int
    keycloak: int

    @classmethod
    def from_env(cls) -> Ports:
        kafka = int(os.environ.get("LT_KAFKA_PORT", "9092"))
        return cls(
            kafka=kafka,
            controller=int(os.environ.get("LT_KAFKA_CONTROLLER_PORT", str(kafka + 1))),
            store=int(os.environ.get("LT_STORE_PORT", "27017")),
            keycloak=int(os.environ.get("LT_KEYCLOAK_PORT", "8180")),
        )

    def of(self, component: str) -> int:
        return {"store": self.store, "kafka": self.kafka, "keycloak": self.keycloak}[component]


def log(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def read_pid(name: str) -> int | None:
    pid_file = LOCAL / f"{name}.pid"
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, PermissionError):
        pid_file.unlink(missing_ok=True)
        return None
    return pid


def spawn(name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
    """Start a detached process (own session) with its output in .local/logs/NAME.out."""
    proc = processes.spawn(argv, LOCAL / "logs" / f"{name}.out", env, cwd=LOCAL)
    (LOCAL / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


# --------------------------------------------------------------------------- Kafka


def ensure_kafka_jars() -> None:
    """Resolve the broker jars once; later starts never touch the network."""
    if KAFKA_LIBS.exists() and any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        return
    log("resolving Apache Kafka jars from Maven Central (first start only)")
    mvn = shutil.which("mvn")
    if mvn is None:
        sys.exit("[devstack] Maven (mvn) is required to fetch the Kafka jars")
    subprocess.run(
        [
            mvn,
            "-B",
            "-q",
            "-f",
            str(KAFKA_POM),
            "dependency:copy-dependencies",
            f"-Dlibs.dir={KAFKA_LIBS}",
        ],
        check=True,
    )


def kafka_properties(ports: Ports, data_dir: Path) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{ports.controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{ports.kafka},CONTROLLER://127.0.0.1:{ports.controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{ports.kafka}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data_dir}",
            # Topics are created by the project with their own partitions and retention.
            "auto.create.topics.enable=false",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=10",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # A single local node: no reason to delay the first rebalance.
            "group.initial.rebalance.delay.ms=0",
            "log.retention.hours=168",
            "",
        ]
    )


def java_command(main_class: str, *args: str, heap: str = "256m") -> list[str]:
    java = shutil.which("java") or "java"
    return [
        java,
        f"-Xmx{heap}",
        f"-Xms{heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        f"-Dkafka.logs.dir={LOCAL / 'logs'}",
        "-cp",
        f"{KAFKA_LIBS}/*",
        main_class,
        *args,
    ]


def start_kafka(ports: Ports) -> None:
    if read_pid("kafka") or port_open(ports.kafka):
        log(f"kafka already running on 127.0.0.1:{ports.kafka}")
        return
    if not port_open(ports.keycloak):
        sys.exit(
            f"[devstack] kafka needs Keycloak on 127.0.0.1:{ports.keycloak}: the broker "
            "fetches the realm's keys as it starts (start keycloak first, or both together)"
        )
    ensure_kafka_jars()
    kafka_dir = LOCAL / "kafka"
    data_dir = kafka_dir / "data"
    config = kafka_dir / "server.properties"
    kafka_dir.mkdir(parents=True, exist_ok=True)
    # The plaintext listener on LT_KAFKA_PORT for local tests (super user ANONYMOUS), a
    # SASL/OAUTHBEARER listener on LT_KAFKA_SASL_PORT for make run, ACLs on: see
    # infra/kafka_security.py.
    from infra import kafka_security

    secure = kafka_security.BrokerPorts(ports.kafka, kafka_sasl_port(), ports.controller)
    issuer = kafka_security.OAuthIssuer(f"http://127.0.0.1:{ports.keycloak}")
    config.write_text(kafka_security.broker_properties(secure, issuer, data_dir))
    if not (data_dir / "meta.properties").exists():
        log("formatting KRaft storage (first start)")
        subprocess.run(
            java_command(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "--cluster-id",
                uuid_base64(),
                "--config",
                str(config),
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    command = java_command("kafka.Kafka", str(config), heap="768m")
    command[1:1] = kafka_security.java_options(issuer)
    spawn("kafka", command)
    log(f"kafka starting on 127.0.0.1:{ports.kafka} (plaintext, local) and {secure.sasl} (SASL)")


def kafka_sasl_port() -> int:
    """The broker's SASL/OAUTHBEARER listener (make run's services log in there)."""
    kafka = int(os.environ.get("LT_KAFKA_PORT", "9092"))
    return int(os.environ.get("LT_KAFKA_SASL_PORT", str(kafka + 2)))


def uuid_base64() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, never
    starting with "-" (StorageTool would read it as an option; Kafka's own
    Uuid.randomUuid() avoids those ids the same way)."""
    import base64

    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


async def kafka_round_trip(port: int) -> None:
    """Really produce and fetch one record on a scratch topic."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    servers = f"127.0.0.1:{port}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=5000)
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic("_devstack.ready", 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", request_timeout_ms=5000)
    await producer.start()
    try:
        meta = await producer.send_and_wait("_devstack.ready", b"ping")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition("_devstack.ready", 0)
        consumer.assign([tp])
        consumer.seek(tp, meta.offset)
        records = await consumer.getmany(tp, timeout_ms=5000)
        if not records.get(tp):
            raise RuntimeError("produced record not fetched")
    finally:
        await consumer.stop()


async def store_ping(port: int) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=2000
    )
    try:
        await client.admin.command("ping")
    finally:
        await client.close()


def wait_until(name: str, probe, timeout: float, pid_name: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            asyncio.run(probe())
            log(f"{name} ready")
            return
        except Exception as exc:  # readiness probe: any failure means "not yet"
            last_error = exc
        if pid_name and read_pid(pid_name) is None:
            sys.exit(f"[devstack] {name} exited during start-up; see .local/logs/{pid_name}.out")
        time.sleep(0.5)
    sys.exit(f"[devstack] {name} not ready after {timeout:.0f}s: {last_error}")


# --------------------------------------------------------------------------- store


def start_store(ports: Ports) -> None:
    if read_pid("store") or port_open(ports.store):
        log(f"store already running on 127.0.0.1:{ports.store}")
        return
    server = choose_store_server()
    # The two servers do not share a storage layout: each kind keeps its own folder.
    data_dir = LOCAL / ("store" if server.kind == "python" else f"store-{server.kind}")
    data_dir.mkdir(parents=True, exist_ok=True)
    spawn("store", server.command("127.0.0.1", ports.store, data_dir))
    (LOCAL / "store.kind").write_text(server.kind)
    log(f"store (SecantusDB, {server.kind} server) starting on 127.0.0.1:{ports.store}")


# --------------------------------------------------------------------------- Keycloak


def start_keycloak(ports: Ports) -> None:
    from infra.keycloak import server

    if read_pid("keycloak") or port_open(ports.keycloak):
        log(f"keycloak already running on 127.0.0.1:{ports.keycloak}")
        return
    home = server.ensure_distribution(log)
    argv, env = server.command(home)
    spawn("keycloak", argv, env)
    log(
        f"keycloak starting on 127.0.0.1:{ports.keycloak} (30-60 s; the first start "
        "also builds its configuration)"
    )


def sync_keycloak(ports: Ports) -> None:
    """A Keycloak already running gets what the realm file gained since it started."""
    from infra.keycloak.sync import sync

    try:
        added = sync(f"http://127.0.0.1:{ports.keycloak}")
    except Exception as exc:  # reported; a restart imports the whole realm
        log(f"keycloak: could not bring the realm up to date ({exc}); restart it to re-import")
        return
    if added:
        log(f"keycloak: realm brought up to date: {', '.join(added)}")


async def keycloak_token(port: int) -> None:
    from infra.keycloak import server

    await asyncio.to_thread(server.token_probe)


# --------------------------------------------------------------------------- commands


def stop(name: str) -> bool:
    pid = read_pid(name)
    if pid is None:
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(pid, signal.SIGKILL)
    (LOCAL / f"{name}.pid").unlink(missing_ok=True)
    (LOCAL / f"{name}.kind").unlink(missing_ok=True)
    log(f"{name} stopped")
    return True


def cmd_start(ports: Ports, components: list[str]) -> None:
    """Kafka last: its SASL listener fetches the realm's keys from Keycloak as the broker
    starts, and the broker does not start without them (infra/kafka_security.py)."""
    LOCAL.mkdir(parents=True, exist_ok=True)
    if "store" in components:
        start_store(ports)
    if "keycloak" in components:
        start_keycloak(ports)
    if "store" in components:
        wait_until("store", lambda: store_ping(ports.store), 60, "store")
    if "keycloak" in components:
        wait_until("keycloak", lambda: keycloak_token(ports.keycloak), 600, "keycloak")
        sync_keycloak(ports)
    if "kafka" in components:
        start_kafka(ports)
        wait_until("kafka", lambda: kafka_round_trip(ports.kafka), 120, "kafka")


def cmd_stop(components: list[str]) -> None:
    stopped = [name for name in ("keycloak", "kafka", "store") if name in components and stop(name)]
    if not stopped:
        log("nothing started by devstack is running")


def cmd_status(ports: Ports) -> int:
    ok = True
    for name in COMPONENTS:
        port = ports.of(name)
        pid = read_pid(name)
        listening = port_open(port)
        ok = ok and listening
        state = "up" if listening else "down"
        owner = f"pid {pid}" if pid else "not started by devstack"
        kind_file = LOCAL / f"{name}.kind"
        if pid and kind_file.exists():
            owner += f", {kind_file.read_text()} server"
        log(f"{name:8} {state:4} 127.0.0.1:{port} ({owner}); logs .local/logs/{name}.out")
    return 0 if ok else 1


def main() -> None:
    import logging

    # Readiness probes fail while a server boots; the client libraries' noise says nothing new.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status", "running"])
    parser.add_argument(
        "components", nargs="*", choices=[*COMPONENTS, []], help="default: all three"
    )
    args = parser.parse_args()
    ports = Ports.from_env()
    components = args.components or list(COMPONENTS)
    if args.command == "start":
        cmd_start(ports, components)
    elif args.command == "stop":
        cmd_stop(components)
    elif args.command == "running":
        # Exit 0 when all named components answer (make test: what to start, and stop after).
        sys.exit(0 if all(port_open(ports.of(c)) for c in components) else 1)
    else:
        sys.exit(cmd_status(ports))


if __name__ == "__main__":
    main()
