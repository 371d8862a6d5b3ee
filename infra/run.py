"""``make run``: start the infrastructure (Kafka, store, Keycloak), two witnesses, the four
services and the operations console, demo data.

The services (and the mail sink) are supervised like compose's restart policy: one
that crashes is restarted with backoff and the console says so (infra/supervisor.py).
Ctrl-C (or SIGTERM) stops the services, and the infrastructure if this command started it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import httpx

from infra import store_auth
from infra.demo import token_help
from infra.devstack import port_open
from infra.launcher import Fleet, witness_env, witness_vkey
from infra.processes import Process, python_env, python_module, spawn
from infra.supervisor import Supervisor
from shared.auth import AuthSettings
from shared.auth.identities import UnitAuth
from shared.healthcheck import DEFAULT_PORTS, service_port

ROOT = Path(__file__).resolve().parent.parent
SERVICES = tuple(DEFAULT_PORTS)
LOGS = ROOT / ".local" / "logs"
MAIL = ROOT / ".local" / "mail"
MAIL_PORT = int(os.environ.get("LT_NOTIFICATION_SMTP_PORT", "1025"))
PORTAL = ROOT / ".local" / "portal" / "received.jsonl"
PORTAL_PORT = int(os.environ.get("LT_PORTAL_RECEIVER_PORT", "8085"))
# Two independent witnesses of the audit log, each its own process, key and state.
WITNESS_PORTS = {"witness-1": 8011, "witness-2": 8012}


def devstack(*args: str) -> int:
    return subprocess.call([sys.executable, str(ROOT / "infra" / "devstack.py"), *args])


STORE_AUTH_PORT = int(os.environ.get("LT_STORE_AUTH_PORT", "27018"))
STORE_USERS = store_auth.StoreUsers.for_make_run()


def start_store() -> Process:
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


KAFKA_PRINCIPALS = ("intake", "routing", "notification", "audit")  # Keycloak clients


def prepare_kafka() -> bool:
    """Topics and ACLs on the broker; True when the services can log in over SASL.

    A broker started before it had a SASL listener keeps running as it was: the services
    then use its plaintext listener, explicitly, and this says how to get SASL.
    """
    from infra.devstack import Ports, kafka_sasl_port
    from infra.kafka_access import provision

    ports = Ports.from_env()
    if not port_open(kafka_sasl_port()):
        say(
            f"WARNING: the broker has no SASL listener on {kafka_sasl_port()} (started "
            "before it had one): the services use plaintext 127.0.0.1:"
            f"{ports.kafka}. Restart it (make infra-down, then make run) for SASL and ACLs."
        )
        return False
    count = provision(f"127.0.0.1:{ports.kafka}", os.environ.get("LT_KAFKA_TOPIC_PREFIX", ""))
    say(f"Kafka: topics and {count} ACLs in place; services log in over SASL/OAUTHBEARER")
    return True


def kafka_env(service: str, sasl: bool) -> dict[str, str]:
    """How a process reaches Kafka: the four services as their own Keycloak clients over
    SASL; anything else (the console, witnesses) on the local plaintext listener."""
    from infra.devstack import kafka_sasl_port
    from infra.keycloak.realm import client_secret_variable, dev_client_secret
    from infra.keycloak.server import token_url

    if not (sasl and service in KAFKA_PRINCIPALS):
        return {"LT_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
    return {
        "LT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_sasl_port()}",
        "LT_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "LT_KAFKA_OAUTH_TOKEN_URL": token_url(),
        "LT_KAFKA_OAUTH_CLIENT_ID": service,
        "LT_KAFKA_OAUTH_CLIENT_SECRET": os.environ.get(client_secret_variable(service))
        or dev_client_secret(service),
        "LT_KAFKA_CREATE_TOPICS": "false",
    }


def add_service(fleet: Fleet, service: str, env: dict[str, str]) -> None:
    """A service with its own store user, or a witness (no store: its own state file)."""
    if service in WITNESS_PORTS:
        fleet.add("witness", WITNESS_PORTS[service], name=service, env=env)
        return
    own = store_env(service)
    if service == "notification":  # the national portal connector sends to the local receiver
        portal = f"http://127.0.0.1:{PORTAL_PORT}/portal"
        own["LT_PORTAL_SYNC_ENDPOINT"] = os.environ.get("LT_PORTAL_SYNC_ENDPOINT", portal)
        # No real SMS provider exists: locally the file adapter writes them to .local/sms.log.
        own["LT_NOTIFICATION_SMS_PROVIDER"] = os.environ.get("LT_NOTIFICATION_SMS_PROVIDER", "file")
    if service == "routing":  # its forms name the applicant: asked of intake as they print
        intake = f"http://127.0.0.1:{service_port('intake')}"
        own["LT_ROUTING_INTAKE_URL"] = os.environ.get("LT_ROUTING_INTAKE_URL", intake)
        routing_secret = os.environ.get("LT_KEYCLOAK_SECRET_ROUTING")
        if routing_secret:  # the realm's secret of the routing client, if not the dev one
            own["LT_ROUTING_CLIENT_SECRET"] = os.environ.get(
                "LT_ROUTING_CLIENT_SECRET", routing_secret
            )
    fleet.add(service, service_port(service), env={**own, **env})


def audit_log_vkey() -> str:
    """The audit log's vkey (its key file is created now if absent), for the witnesses."""
    out = subprocess.check_output(python_module("audit.keys"), cwd=ROOT, env=python_env())
    return out.decode().strip().splitlines()[-1]


def witness_envs(log_vkey: str) -> dict[str, dict[str, str]]:
    """Each witness's settings: own name, key, state file and port; the log it follows."""
    return {
        name: witness_env(f"lienthong.local/{name}", ROOT / ".local" / name, port, log_vkey)
        for name, port in WITNESS_PORTS.items()
    }


def audit_witnesses(envs: dict[str, dict[str, str]]) -> str:
    """LT_AUDIT_WITNESSES for the audit service: each witness's URL and vkey."""
    listed = [
        {"url": f"http://127.0.0.1:{env['LT_WITNESS_PORT']}", "vkey": witness_vkey(env)}
        for env in envs.values()
    ]
    return json.dumps(listed)


def trust_fingerprint() -> str:
    """The published trust file's fingerprint, read as the demo auditor reads it."""
    url = f"http://127.0.0.1:{service_port('audit')}/v1/audit/trust"
    try:
        response = httpx.get(url, auth=UnitAuth("auditor"), timeout=10)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return f"unavailable ({exc})"
    return str(response.headers.get("X-Trust-Fingerprint", "?"))


def say(message: str) -> None:
    print(f"[run] {message}", flush=True)


def wait_ready(
    supervisor: Supervisor, fleet: Fleet, services: tuple[str, ...], timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(services)
    while waiting and time.monotonic() < deadline:
        supervisor.check()  # a service that crashes while starting is restarted
        if refused := [name for name in supervisor.given_up() if name in waiting]:
            sys.exit(f"[run] settings refused by: {', '.join(refused)} (see .local/logs/)")
        for service in sorted(waiting):
            if supervisor.running(service) and fleet.ready(service):
                say(f"{service} ready on {fleet[service].url}")
                waiting.discard(service)
        time.sleep(0.3)
    if waiting:
        sys.exit(f"[run] not ready after {timeout:.0f}s: {', '.join(sorted(waiting))}")


def start_mail_sink() -> Process:
    """A local SMTP server keeping every email in .local/mail."""
    argv = python_module(
        "aiosmtpd", "-n", "-l", f"127.0.0.1:{MAIL_PORT}", "-c", "aiosmtpd.handlers.Mailbox"
    )
    return spawn([*argv, str(MAIL)], LOGS / "mail.log")


def start_portal_receiver() -> Process:
    """The national portal's stand-in: every message the connector sends, in a file."""
    argv = python_module("infra.portal_receiver", "--port", str(PORTAL_PORT), "--out", str(PORTAL))
    return spawn(argv, LOGS / "portal-receiver.log")


def print_where_to_look() -> None:
    print("\nThe platform is running. Where to look:")
    console = f"http://127.0.0.1:{service_port('console')}/"
    print(f"  OPERATIONS CONSOLE  {console}   (flows, on time, dossiers, health, dead letters)")
    print(
        "                      sign in on Keycloak's page as ops / dev-password (the demo "
        "operations user;\n                      replays are recorded under that name)"
    )
    for service in SERVICES:
        base = f"http://127.0.0.1:{service_port(service)}"
        print(f"  {service:13} {base}/docs   (health {base}/readyz, metrics {base}/metrics)")
    print("  emails        .local/mail/new/   (one file per message, from the local SMTP sink)")
    print("  SMS           .local/sms.log     (the file SMS adapter)")
    print(
        "  portal sync   .local/portal/received.jsonl   (what the national portal connector "
        "would send; status: GET :8003/v1/portal/messages)"
    )
    for name, port in WITNESS_PORTS.items():
        print(f"  {name:13} http://127.0.0.1:{port}/docs   (cosigns audit checkpoints)")
    audit = f"http://127.0.0.1:{service_port('audit')}"
    print(f"  trust file    curl -H 'Authorization: Bearer <auditor token>' {audit}/v1/audit/trust")
    print(f"                fingerprint {trust_fingerprint()} (compare: sha256sum trust.json)")
    print(
        "  logs          .local/logs/       "
        "(kafka.log, store-auth.out, keycloak.out, <service>.log, witnesses)"
    )
    print(
        f"  store         127.0.0.1:{STORE_AUTH_PORT}, one SCRAM user per service "
        "(development passwords: set LT_<SERVICE>_MONGO_PASSWORD)"
    )
    print("  Keycloak      http://127.0.0.1:8180/admin   (admin / dev-admin, development only)")
    print(token_help(AuthSettings().token_url))
    print("A service that crashes is restarted with backoff; the console says so.")
    print("Press Ctrl-C to stop everything this command started.\n", flush=True)


def main() -> None:
    argparse.ArgumentParser(prog="make run", description=__doc__).parse_args()
    started_infra = devstack("running") != 0
    if devstack("start") != 0:
        sys.exit("[run] could not start Kafka, the store and Keycloak")
    supervisor, fleet = Supervisor(say), Fleet(LOGS)  # logs under .local/logs
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    store: Process | None = None
    try:
        store = start_store()
        sasl = prepare_kafka()
        if not port_open(MAIL_PORT):  # else a sink of the developer's own is used
            supervisor.start("mail", start_mail_sink)
        if not port_open(PORTAL_PORT):  # else a receiver of the developer's own is used
            supervisor.start("portal-receiver", start_portal_receiver)
        witnesses = witness_envs(audit_log_vkey())
        for name, env in witnesses.items():
            add_service(fleet, name, {**env, **kafka_env(name, sasl)})
            supervisor.start(name, partial(fleet.start, name))
        wait_ready(supervisor, fleet, tuple(witnesses))
        audit_env = {
            "LT_AUDIT_WITNESSES": os.environ.get("LT_AUDIT_WITNESSES") or audit_witnesses(witnesses)
        }
        for service in SERVICES:
            extra = {**kafka_env(service, sasl), **(audit_env if service == "audit" else {})}
            add_service(fleet, service, extra)
            supervisor.start(service, partial(fleet.start, service))
        wait_ready(supervisor, fleet, SERVICES)
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
