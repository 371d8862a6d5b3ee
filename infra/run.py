"""``make run``: start the infrastructure (Kafka, store, Keycloak), the four services, demo data.

The services (and the mail sink) are supervised like compose's restart policy: one
that crashes is restarted with backoff and the console says so (infra/supervisor.py).
Ctrl-C (or SIGTERM) stops the services, and the infrastructure if this command started it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from infra import store_auth
from infra.demo import token_help
from infra.devstack import port_open
from infra.supervisor import Supervisor
from shared.auth import AuthSettings
from shared.healthcheck import DEFAULT_PORTS, readiness_error, service_port

ROOT = Path(__file__).resolve().parent.parent
SERVICES = tuple(DEFAULT_PORTS)
LOGS = ROOT / ".local" / "logs"
MAIL = ROOT / ".local" / "mail"
MAIL_PORT = int(os.environ.get("LT_NOTIFICATION_SMTP_PORT", "1025"))


def devstack(*args: str) -> int:
    return subprocess.call([sys.executable, str(ROOT / "infra" / "devstack.py"), *args])


STORE_AUTH_PORT = int(os.environ.get("LT_STORE_AUTH_PORT", "27018"))
STORE_USERS = store_auth.StoreUsers.for_make_run()


def start_store() -> subprocess.Popen[bytes]:
    """The services' own authenticated store (the shared one on 27017 is for tests)."""
    if port_open(STORE_AUTH_PORT):
        sys.exit(f"[run] port {STORE_AUTH_PORT} is taken: set LT_STORE_AUTH_PORT")
    proc = store_auth.start_authenticated(
        STORE_AUTH_PORT, ROOT / ".local" / "store-auth", STORE_USERS, LOGS / "store-auth.out"
    )
    print(f"[run] store with one user per service on 127.0.0.1:{STORE_AUTH_PORT}", flush=True)
    return proc


def store_env(service: str) -> dict[str, str]:
    """The service's own store user: it may use its own database and nothing else."""
    return {
        "LT_MONGO_URI": store_auth.uri(STORE_AUTH_PORT),
        "LT_MONGO_USERNAME": service,
        "LT_MONGO_PASSWORD": STORE_USERS.service_passwords[service],
    }


def start_service(service: str) -> subprocess.Popen[bytes]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{service}.log", "ab")  # noqa: SIM115 - handed to the child
    env = {**os.environ, **store_env(service), "PYTHONPATH": f"{ROOT}:{ROOT / 'services'}"}
    # Locally the console may replay dead letters (recorded as the local operator).
    env.setdefault("LT_CONSOLE_ACTIONS_ENABLED", "true")
    env.setdefault("LT_CONSOLE_OPERATOR", os.environ.get("USER") or "local-operator")
    return subprocess.Popen(
        [sys.executable, "-m", f"{service}.main"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def ready(service: str) -> bool:
    return readiness_error(service, timeout=2) is None


def say(message: str) -> None:
    print(f"[run] {message}", flush=True)


def wait_ready(supervisor: Supervisor, services: tuple[str, ...], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(services)
    while waiting and time.monotonic() < deadline:
        supervisor.check()  # a service that crashes while starting is restarted
        for service in sorted(waiting):
            if supervisor.running(service) and ready(service):
                say(f"{service} ready on http://127.0.0.1:{service_port(service)}")
                waiting.discard(service)
        time.sleep(0.3)
    if waiting:
        sys.exit(f"[run] not ready after {timeout:.0f}s: {', '.join(sorted(waiting))}")


def start_mail_sink() -> subprocess.Popen[bytes]:
    """A local SMTP server keeping every email in .local/mail."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / "mail.log", "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{MAIL_PORT}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(MAIL),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def print_where_to_look() -> None:
    print("\nThe platform is running. Where to look:")
    console = f"http://127.0.0.1:{service_port('console')}/"
    print(f"  OPERATIONS CONSOLE  {console}   (flows, on time, dossiers, health, dead letters)")
    for service in SERVICES:
        base = f"http://127.0.0.1:{service_port(service)}"
        print(f"  {service:13} {base}/docs   (health {base}/readyz, metrics {base}/metrics)")
    print("  emails        .local/mail/new/   (one file per message, from the local SMTP sink)")
    print("  SMS           .local/sms.log     (the file SMS adapter)")
    print("  logs          .local/logs/       (kafka, store-auth, keycloak .out; <service>.log)")
    print(
        f"  store         127.0.0.1:{STORE_AUTH_PORT}, one SCRAM user per service "
        "(development passwords: set LT_<SERVICE>_MONGO_PASSWORD)"
    )
    print("  Keycloak      http://127.0.0.1:8180/admin   (admin / dev-admin, development only)")
    print(token_help(AuthSettings().token_url))
    print("A service that crashes is restarted with backoff; the console says so.")
    print("Press Ctrl-C to stop everything this command started.\n", flush=True)


def main() -> None:
    started_infra = devstack("running") != 0
    if devstack("start") != 0:
        sys.exit("[run] could not start Kafka, the store and Keycloak")
    supervisor = Supervisor(say)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    store: subprocess.Popen[bytes] | None = None
    try:
        store = start_store()
        if not port_open(MAIL_PORT):  # else a sink of the developer's own is used
            supervisor.start("mail", start_mail_sink)
        for service in SERVICES:
            supervisor.start(service, partial(start_service, service))
        wait_ready(supervisor, SERVICES)
        if os.environ.get("LT_DEMO", "1") == "1":
            from infra.demo import load_demo_data

            load_demo_data({s: f"http://127.0.0.1:{service_port(s)}" for s in SERVICES})
        print_where_to_look()
        while True:  # until Ctrl-C: keep everything running
            supervisor.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\n[run] stopping", flush=True)
    finally:
        # A second Ctrl-C must not leave services or the broker behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop_all()
        if store is not None:  # after the services, which flush to it on their way out
            store_auth.stop_server(store)
        if started_infra:
            devstack("stop")


if __name__ == "__main__":
    main()
