"""An authenticated store of its own: SecantusDB with ``--auth`` and one user per service.

The shared local store (127.0.0.1:27017, started by devstack) runs without
authentication, because every test run on the machine uses it. Authentication is an
explicit setting (``LT_MONGO_USERNAME`` / ``LT_MONGO_PASSWORD``), exercised against a
separate instance on its own port and data directory: ``make run`` starts one on
``LT_STORE_AUTH_PORT`` (27018), and the isolation tests start their own on a free port.

Users are provisioned the way MongoDB's documentation describes for a fresh server:
start once without access control, create the administrator and the service users,
restart with ``--auth`` (SecantusDB's Python server has no localhost exception, so this
works for both servers). Later starts only bring the service users up to date, as the
administrator. Each service user gets ``readWrite`` on its own database and nothing
else.

    python -m infra.store_auth start|stop|status
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from infra import processes
from infra.store_server import choose_store_server

ROOT = Path(__file__).resolve().parent.parent
LOCAL = Path(os.environ.get("LT_LOCAL_DIR", ROOT / ".local"))
SERVICES = ("intake", "routing", "notification", "audit", "console")
# make run only: the services warn when they run with one of these (shared.settings).
DEV_ADMIN_PASSWORD = "dev-only-store-admin-password"
BOOTSTRAPPED = "lienthong-users-provisioned"
COMMANDS = ("start", "stop", "status")


def dev_password(service: str) -> str:
    """The development password of a service's store user (make run only, warned about)."""
    return f"dev-only-{service}-store-password"


@dataclass(frozen=True)
class StoreUsers:
    """Who the authenticated store knows: its administrator and one user per service."""

    admin_user: str
    admin_password: str
    service_passwords: Mapping[str, str]
    database_prefix: str = "lt_"

    @classmethod
    def for_make_run(cls) -> StoreUsers:
        """Development credentials, overridable per variable (LT_STORE_ADMIN_PASSWORD,
        LT_<SERVICE>_MONGO_PASSWORD)."""
        return cls(
            admin_user=os.environ.get("LT_STORE_ADMIN_USERNAME", "lienthong-admin"),
            admin_password=os.environ.get("LT_STORE_ADMIN_PASSWORD", DEV_ADMIN_PASSWORD),
            service_passwords={
                s: os.environ.get(f"LT_{s.upper()}_MONGO_PASSWORD", dev_password(s))
                for s in SERVICES
            },
            database_prefix=os.environ.get("LT_MONGO_DATABASE_PREFIX", "lt_"),
        )


def server_command(port: int, data_dir: Path, *, auth: bool) -> list[str]:
    """The devstack's store server (``LT_STORE_SERVER``: the Rust one unless ``python``),
    with the same flags, on ``port``."""
    return choose_store_server().command("127.0.0.1", port, data_dir, auth=auth)


def uri(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def client_for(
    port: int, user: str | None = None, password: str | None = None, timeout_ms: int = 5000
) -> MongoClient[dict[str, Any]]:
    """A synchronous client, authenticated as ``user`` when one is given."""
    login: dict[str, Any] = (
        {"username": user, "password": password, "authSource": "admin"} if user else {}
    )
    return MongoClient(uri(port), serverSelectionTimeoutMS=timeout_ms, **login)


def start_server(port: int, data_dir: Path, log_file: Path, *, auth: bool) -> processes.Process:
    """Start the server in its own session and wait until it answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    proc = processes.spawn(server_command(port, data_dir, auth=auth), log_file)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"[store-auth] the store exited at start; see {log_file}")
        try:
            with client_for(port, timeout_ms=500) as probe:
                probe.admin.command("ping")
            return proc
        except PyMongoError:  # not up yet
            time.sleep(0.2)
    stop_server(proc)
    sys.exit(f"[store-auth] the store did not answer on {port} within 60 s; see {log_file}")


def stop_server(proc: processes.Process) -> None:
    processes.stop({"store": proc}, timeout_s=30)


def provision(client: MongoClient[dict[str, Any]], users: StoreUsers) -> None:
    """Create or update each service user: readWrite on its own database, nothing else."""
    for service, password in users.service_passwords.items():
        roles = [{"role": "readWrite", "db": f"{users.database_prefix}{service}"}]
        known = client.admin.command("usersInfo", service)["users"]
        command = "updateUser" if known else "createUser"
        client.admin.command(command, service, pwd=password, roles=roles)


def start_authenticated(
    port: int, data_dir: Path, users: StoreUsers, log_file: Path
) -> processes.Process:
    """A running ``--auth`` store whose users are ``users``; bootstraps a new data dir."""
    marker = data_dir / BOOTSTRAPPED
    if not marker.exists():
        bootstrap = start_server(port, data_dir, log_file, auth=False)
        try:
            with client_for(port) as client:
                root = [{"role": "root", "db": "admin"}]
                client.admin.command(
                    "createUser", users.admin_user, pwd=users.admin_password, roles=root
                )
                provision(client, users)
        finally:
            stop_server(bootstrap)
        marker.write_text("administrator and service users created\n")
    proc = start_server(port, data_dir, log_file, auth=True)
    with client_for(port, users.admin_user, users.admin_password) as admin:
        provision(admin, users)
    return proc


def _pid_file() -> Path:
    return LOCAL / "store-auth.pid"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.store_auth", description=__doc__)
    parser.add_argument("command", nargs="?", default="status", choices=COMMANDS)
    command = parser.parse_args(argv[1:]).command
    port = int(os.environ.get("LT_STORE_AUTH_PORT", "27018"))
    pid_file = _pid_file()
    if command == "start":
        proc = start_authenticated(
            port, LOCAL / "store-auth", StoreUsers.for_make_run(), LOCAL / "logs" / "store-auth.out"
        )
        pid_file.write_text(str(proc.pid))
        print(f"[store-auth] authenticated store on 127.0.0.1:{port} (one user per service)")
        return 0
    if command == "stop":  # stopping a stopped store is done, not an error
        if pid_file.exists():
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
            pid_file.unlink()
        print(f"[store-auth] stopped (127.0.0.1:{port})")
        return 0
    running = pid_file.exists()
    print(f"[store-auth] {'running' if running else 'stopped'} (127.0.0.1:{port})")
    return 0 if running else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
