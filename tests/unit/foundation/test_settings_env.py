"""A misspelt setting stops the start with the name it was probably meant to be, instead
of being ignored; a refused value is said as one JSON log line and readably, without the
value. And every ``LT_`` name the repository sets or documents is one the process under
that prefix reads."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from audit.config import AuditLogKey, AuditSettings
from console.config import ConsoleSettings
from intake.config import IntakeSettings
from notification.config import NotificationSettings
from pydantic_settings import BaseSettings
from routing.config import RoutingSettings
from witness.config import WitnessSettings

from shared.settings import KafkaSettings
from shared.settings_env import (
    SETTINGS_EXIT,
    TOOLING,
    known_names,
    read_prefixes,
    read_settings,
    unknown_settings,
)

ROOT = Path(__file__).resolve().parents[3]
MISSPELT_ON_PURPOSE = {
    "tests/unit/foundation/test_settings_env.py",
    "tests/unit/foundation/test_settings_documented.py",
}
# Every process that reads its settings with read_settings, by the class it checks.
ENTRY_POINTS: dict[str, type[BaseSettings]] = {
    "intake": IntakeSettings,
    "routing": RoutingSettings,
    "notification": NotificationSettings,
    "audit": AuditSettings,
    "console": ConsoleSettings,
    "witness": WitnessSettings,
    "deadletter_cli": KafkaSettings,
}


def refused(
    capsys: pytest.CaptureFixture[str],
    settings_class: type[BaseSettings],
    environ: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[dict[str, object], str]:
    """The JSON line and the readable message of a refused start."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        read_settings(settings_class, "routing", environ=environ)
    assert stopped.value.code == SETTINGS_EXIT
    out, err = capsys.readouterr()
    (line,) = out.splitlines()  # one line
    return json.loads(line), err


def test_the_reviewers_misspellings_are_refused_with_the_names_meant(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {
        "LT_MONGO_URL": "mongodb://store:27017",
        "LT_KAFKA_BOOTSTRAP_SERVER": "kafka:9092",
        "LT_ROUTING_OVERDUE_SCAN_SECOND": "5",
    }
    line, readable = refused(capsys, RoutingSettings, environ, monkeypatch)

    assert line["level"] == "CRITICAL" and line["message"] == "settings refused"
    assert line["service"] == "routing"
    assert line["settings"] == [
        {
            "setting": "LT_KAFKA_BOOTSTRAP_SERVER",
            "error": "not a setting routing reads; did you mean LT_KAFKA_BOOTSTRAP_SERVERS?",
        },
        {
            "setting": "LT_MONGO_URL",
            "error": "not a setting routing reads; did you mean LT_MONGO_URI?",
        },
        {
            "setting": "LT_ROUTING_OVERDUE_SCAN_SECOND",
            "error": "not a setting routing reads; did you mean LT_ROUTING_OVERDUE_SCAN_SECONDS?",
        },
    ]
    assert "LT_MONGO_URL: not a setting routing reads; did you mean LT_MONGO_URI?" in readable
    assert "mongodb://store" not in json.dumps(line) + readable  # values are never said


def test_other_services_and_the_toolings_variables_are_left_alone() -> None:
    environ = {
        "LT_INTAKE_RECEIPT_KEY": "k",  # intake's: compose passes shared env files
        "LT_NOTIFICATION_SMTP_HOST": "smtp",
        "LT_CATALOGUE_CONFIGURATION": "two-level",  # a prefix notification does not read
        "LT_KAFKA_SASL_PORT": "9094",  # infra/devstack.py's
        "LT_MONGO_ROOT_PASSWORD": "x",  # compose's, for the store's administrator
        "LT_NOTIFICATION_MONGO_PASSWORD": "y",  # compose's and infra/store_auth.py's
        "LT_KEYCLOAK_SECRET_NOTIFICATION": "z",
        "LT_DEMO": "0",
        "HOME": "/root",
        "lt_notification_port": "8003",  # pydantic-settings reads names in any case
    }
    assert unknown_settings(NotificationSettings, environ) == []


def test_a_misspelt_setting_of_a_group_nested_under_the_service_is_refused() -> None:
    environ = {
        "LT_NOTIFICATION_SMTP_HOSTNAME": "smtp",
        "LT_PORTAL_SYNC_ENDPOINTS": "https://portal",
        "LT_NOTIFICATION_BOGUS": "1",
    }
    assert unknown_settings(NotificationSettings, environ) == [
        ("LT_NOTIFICATION_BOGUS", None),
        ("LT_NOTIFICATION_SMTP_HOSTNAME", "LT_NOTIFICATION_SMTP_HOST"),
        ("LT_PORTAL_SYNC_ENDPOINTS", "LT_PORTAL_SYNC_ENDPOINT"),
    ]


def test_an_aliased_setting_is_known_by_each_of_its_names() -> None:
    names = known_names(IntakeSettings)
    assert {"LT_CALENDAR_OVERRIDES", "LT_INTAKE_CALENDAR_OVERRIDES"} <= names
    assert "LT_CALENDAR_CALENDAR_OVERRIDES" not in names


def test_a_refused_value_is_one_json_line_naming_the_variable_without_the_value(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {"LT_KAFKA_REQUEST_TIMEOUT_MS": "fifteen-SECRETISH"}
    line, readable = refused(capsys, RoutingSettings, environ, monkeypatch)

    assert line["settings"] == [
        {
            "setting": "LT_KAFKA_REQUEST_TIMEOUT_MS",
            "error": "Input should be a valid integer, unable to parse string as an integer",
        }
    ]
    assert "LT_KAFKA_REQUEST_TIMEOUT_MS: Input should be a valid integer" in readable
    assert "SECRETISH" not in json.dumps(line) + readable


def test_audit_keys_checks_the_audit_services_names_though_it_reads_only_the_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environ = {
        "LT_AUDIT_WITNESS_QUORUM": "2",
        "LT_AUDIT_SIGNING_KEY_PATH": str(tmp_path / "key.pem"),
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    key = read_settings(AuditLogKey, "audit", names_of=AuditSettings, environ=environ)
    assert key.signing_key_path == tmp_path / "key.pem"

    environ["LT_AUDIT_WITNESS_QUORAM"] = "2"
    with pytest.raises(SystemExit):
        read_settings(AuditLogKey, "audit", names_of=AuditSettings, environ=environ)
    assert "did you mean LT_AUDIT_WITNESS_QUORUM?" in capsys.readouterr().err


@functools.cache
def repository_names() -> dict[str, set[str]]:
    """Every ``LT_*`` name written in the repository (code, compose, Makefile, docs, CI),
    with the files it is in; prefixes (``LT_KAFKA_*``) aside."""
    files = subprocess.check_output(["git", "ls-files"], cwd=ROOT, text=True).split()
    name = re.compile(r"\bLT_[A-Z0-9_]*[A-Z0-9]\b")
    found: dict[str, set[str]] = {}
    for path in files:
        if path in MISSPELT_ON_PURPOSE:
            continue
        try:
            text = (ROOT / path).read_text(encoding="utf-8")
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue
        for match in name.findall(text):
            found.setdefault(match, set()).add(path)
    return found


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
def test_every_name_the_repository_sets_or_documents_is_read_by_its_process(
    entry_point: str,
) -> None:
    """``make run``, compose, the test fixtures, the fault matrix and the docs name only
    settings that the process under that prefix reads (or the tooling's own variables)."""
    settings_class = ENTRY_POINTS[entry_point]
    known, prefixes = known_names(settings_class), read_prefixes(settings_class)
    unknown = {
        name: sorted(paths)
        for name, paths in repository_names().items()
        if name not in known
        and not TOOLING.fullmatch(name)
        and any(name.startswith(prefix) for prefix in prefixes)
    }
    assert unknown == {}


@pytest.mark.parametrize(
    ("module", "misspelt", "meant"),
    [
        ("intake.main", "LT_INTAKE_RECIEPT_KEY", "LT_INTAKE_RECEIPT_KEY"),
        ("routing.main", "LT_ROUTING_OVERDUE_SCAN_SECOND", "LT_ROUTING_OVERDUE_SCAN_SECONDS"),
        ("notification.main", "LT_NOTIFICATION_SMTP_HOSTNAME", "LT_NOTIFICATION_SMTP_HOST"),
        ("audit.main", "LT_AUDIT_WITNESS_QUORAM", "LT_AUDIT_WITNESS_QUORUM"),
        ("console.main", "LT_CONSOLE_JAEGER_URI", "LT_CONSOLE_JAEGER_URL"),
        ("witness.main", "LT_TELEMETRY_LOG_LEVELS", "LT_TELEMETRY_LOG_LEVEL"),
        ("audit.keys", "LT_AUDIT_SIGNING_KEY", "LT_AUDIT_SIGNING_KEY_PATH"),
        ("shared.kafka.deadletter_cli", "LT_KAFKA_BOOTSTRAP_SERVER", "LT_KAFKA_BOOTSTRAP_SERVERS"),
    ],
)
def test_every_entry_point_refuses_a_misspelt_setting_before_it_starts(
    module: str, misspelt: str, meant: str, tmp_path: Path
) -> None:
    environ = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'services'}",
        "HOME": str(tmp_path),
        misspelt: "x",
    }
    argv = [sys.executable, "-m", module] + (["list"] if module.endswith("_cli") else [])
    done = subprocess.run(
        argv, env=environ, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == SETTINGS_EXIT, done.stderr
    assert f"{misspelt}: not a setting" in done.stderr and f"did you mean {meant}?" in done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["settings"][0]["setting"] == misspelt


def test_the_dead_letter_cli_refuses_sasl_without_its_client_before_connecting(
    tmp_path: Path,
) -> None:
    """README's ``deadletter_cli list`` with the default protocol (SASL) and no OAuth
    client is a refused setting (exit 78, said readably), not a traceback."""
    environ = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'services'}",
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "shared.kafka.deadletter_cli", "list"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == SETTINGS_EXIT, done.stderr
    assert "Traceback" not in done.stderr
    assert "needs LT_KAFKA_OAUTH_TOKEN_URL" in done.stderr
    refused = json.loads(done.stdout.splitlines()[-1])["settings"]
    assert refused[0]["setting"] == "LT_KAFKA_SECURITY_PROTOCOL"
