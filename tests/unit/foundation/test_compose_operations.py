"""docker-compose.yml as its operator lives with it: volumes the containers can write,
containers that come back after a reboot, and settings whose code default only makes
sense on a developer's machine. Resolved as compose resolves the files
(test_compose_spec.config); no Docker engine here.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from notification.config import NotificationOptions, SmtpSettings, load_unit_directory
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from infra.keycloak.realm import random_environment
from shared.settings_env import known_names, read_settings, unknown_settings
from tests.unit.foundation.test_compose_security import WITNESS_VKEYS
from tests.unit.foundation.test_compose_spec import ROOT, SECRETS, config

FILES = [("docker-compose.yml",), ("docker-compose.yml", "docker-compose.cluster.yml")]

# The folders each third-party image creates for the user it runs as (from the images'
# Dockerfiles). Docker gives a fresh named volume the owner of the folder it is mounted
# on when the image has that folder; on a path the image lacks, the volume is root's and
# a process running as another user cannot write it.
IMAGE_FOLDERS = {
    "quay.io/keycloak/keycloak": {"/opt/keycloak/data"},  # uid 1000; data/h2 is made at run
    "apache/kafka": {"/var/lib/kafka/data", "/etc/kafka/secrets", "/mnt/shared/config"},
    "mongo": {"/data/db", "/data/configdb"},  # its entrypoint starts as root and chowns
    "prom/prometheus": {"/prometheus"},
    "prom/alertmanager": {"/alertmanager"},
}


def named_volume_mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(volume, path in the container, read-only) of each named volume the service mounts."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target, *options = volume.split(":")
        if source.startswith((".", "/")):
            continue  # a bind mount of a file or folder of the host
        mounts.append((source, target, "ro" in options))
    return mounts


def dockerfile_owned_folders() -> set[str]:
    """The folders the Dockerfile creates before handing /app to the service user."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    folders: set[str] = set()
    for line in dockerfile.splitlines():
        if "mkdir -p" in line and "chown -R lienthong /app" in line:
            made = line.split("mkdir -p", 1)[1].split("&&", 1)[0].split()
            folders |= {folder for folder in made if folder.startswith("/app/")}
    assert dockerfile.index("chown -R lienthong /app") < dockerfile.index("USER lienthong")
    return folders


@pytest.mark.parametrize("files", FILES)
def test_every_writable_named_volume_is_mounted_where_its_user_may_write(
    files: tuple[str, ...],
) -> None:
    services = config(*files)["services"]
    own = dockerfile_owned_folders()
    for name, service in services.items():
        for volume, target, read_only in named_volume_mounts(service):
            if read_only or service.get("user") == "root":
                continue
            if "build" in service:
                assert target in own, (name, volume, target, sorted(own))
            else:
                image = service["image"].rsplit(":", 1)[0]
                assert target in IMAGE_FOLDERS[image], (name, volume, target)


def test_keycloak_keeps_its_database_in_its_data_folder_and_still_imports_the_realm() -> None:
    """The volume is on the data folder; the realm file is mounted inside it, where
    --import-realm looks, and read-only."""
    keycloak = config("docker-compose.yml")["services"]["keycloak"]
    assert ("keycloak-data", "/opt/keycloak/data", False) in named_volume_mounts(keycloak)
    realm = "./infra/keycloak/realm-lienthong-deployment.json:/opt/keycloak/data/import/"
    assert any(v.startswith(realm) and v.endswith(":ro") for v in keycloak["volumes"])
    assert (ROOT / "infra" / "keycloak" / "realm-lienthong-deployment.json").is_file()


def test_the_volume_rule_is_not_a_rubber_stamp() -> None:
    """The volume Keycloak had (data/h2, a folder its image does not have) is refused."""
    keycloak = {
        "image": "quay.io/keycloak/keycloak:26.5.6",
        "volumes": ["kc:/opt/keycloak/data/h2"],
    }
    (volume,) = named_volume_mounts(keycloak)
    assert volume[1] not in IMAGE_FOLDERS["quay.io/keycloak/keycloak"]


def one_shots(services: dict[str, Any]) -> set[str]:
    """The jobs others wait for to have completed (kafka-tls, kafka-init)."""
    return {
        dependency
        for service in services.values()
        for dependency, condition in service.get("depends_on", {}).items()
        if condition.get("condition") == "service_completed_successfully"
    }


@pytest.mark.parametrize("files", FILES)
def test_every_long_running_container_comes_back_after_a_crash_or_a_reboot(
    files: tuple[str, ...],
) -> None:
    """Without a restart policy a container stays down when it crashes or when the host
    reboots: the broker, the store and Keycloak had none, so after a reboot the
    services (restart: unless-stopped) came back alone and kept failing to start."""
    services = config(*files)["services"]
    jobs = one_shots(services)
    assert jobs == {"kafka-tls", "kafka-init"}
    for name, service in services.items():
        if name in jobs:
            assert service["restart"] == "no", name  # done once; its result is kept
        else:
            assert service.get("restart") in {"unless-stopped", "always"}, name


# A default that names this machine or a reserved example domain works on a developer's
# machine only: a deployment must set the variable (RFC 2606 reserves .example).
LOCAL_ONLY = re.compile(r"127\.0\.0\.1|localhost|\.example\b")


def settings_class(service: str) -> type[BaseSettings]:
    """The settings class the process of a compose service reads (its config module's)."""
    module = "witness" if service.startswith("witness-") else service
    config_module = importlib.import_module(f"{module}.config")
    found: type[BaseSettings] = getattr(config_module, f"{module.capitalize()}Settings")
    return found


def local_only_defaults(settings: type[BaseSettings]) -> dict[str, str]:
    """Each variable the class (and its nested groups) reads whose code default fits a
    developer's machine only, with that default."""
    found: dict[str, str] = {}
    prefix = str(settings.model_config.get("env_prefix") or "")
    for name, field in settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            found |= local_only_defaults(annotation)  # a group, read from its own variables
            continue
        default = field.get_default(call_default_factory=True)
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if LOCAL_ONLY.search(str(default)):
            found[f"{prefix}{name}".upper()] = str(default)
    return found


PROCESSES = ["intake", "routing", "notification", "audit", "console", "witness-1", "witness-2"]


@pytest.mark.parametrize("service", PROCESSES)
def test_no_setting_is_left_to_a_default_that_only_works_on_a_developers_machine(
    service: str,
) -> None:
    """Notification's look-up link (127.0.0.1:8001, in every message to an applicant) and
    its From address (on .example) were left to their code defaults."""
    environment = config("docker-compose.yml")["services"][service]["environment"]
    defaults = local_only_defaults(settings_class(service))
    assert defaults  # the bind address at least: the rule looks at something
    missing = sorted(set(defaults) - set(environment))
    assert not missing, f"{service} would run with {[(m, defaults[m]) for m in missing]}"


def test_the_applicants_link_and_the_sender_must_be_the_deployments_own() -> None:
    """No compose default either: only the deployment knows its public address and domain."""
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = document["services"]["notification"]["environment"]
    for variable in ("LT_NOTIFICATION_LOOKUP_BASE_URL", "LT_NOTIFICATION_SMTP_SENDER"):
        assert environment[variable].startswith(f"${{{variable}:?"), variable
    resolved = config("docker-compose.yml")["services"]["notification"]["environment"]
    options = NotificationOptions(lookup_base_url=resolved["LT_NOTIFICATION_LOOKUP_BASE_URL"])
    assert options.lookup_base_url.endswith("/v1/dossiers/")  # intake's look-up route


REQUIRED = re.compile(r"\$\{(\w+):?\?")


def readme_deployment_commands() -> str:
    """The bash block of README "Deployment": what a deployer runs before ``up``."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("\n## Deployment\n") :]
    start = section.index("```bash\n") + len("```bash\n")
    return section[start : section.index("\n```", start)]


def exported_by(commands: str) -> set[str]:
    """The variables the commands export: ``export A=... B=...``, the ``for s in ...``
    loop over LT_${s}_..., and keycloak-secrets.env (``set -a; . ./keycloak-secrets.env``)."""
    names = set()
    for line in commands.splitlines():
        loop = re.match(r"for (\w+) in ([\w ]+); do export (\S+)=", line)
        if loop:
            variable, values, template = loop.groups()
            names |= {template.replace(f"${{{variable}}}", v) for v in values.split()}
        elif line.startswith("export "):
            names |= set(re.findall(r"(?:^export |\s)(LT_\w+)=", line))
    if ". ./keycloak-secrets.env" in commands:
        names |= set(random_environment())
    return names


def test_the_readme_deployment_sets_every_variable_compose_requires() -> None:
    """A deployer following README "Deployment" is never stopped by a ``${VAR:?}``."""
    required = set()
    for name in ("docker-compose.yml", "docker-compose.cluster.yml"):
        required |= set(REQUIRED.findall((ROOT / name).read_text()))
    assert {"LT_NOTIFICATION_LOOKUP_BASE_URL", "LT_MONGO_ROOT_PASSWORD"} <= required
    missing = required - exported_by(readme_deployment_commands())
    assert not missing, sorted(missing)


@pytest.mark.parametrize(
    ("given", "login"), [({}, None), ({"LT_NOTIFICATION_SMTP_USERNAME": "motcua"}, "motcua")]
)
def test_the_smtp_login_reaches_notification_and_an_unset_one_is_none(
    given: dict[str, str], login: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compose passes the relay's login through (it could not be given at all, though its
    default port, 587, is the submission port, which usually wants one); unset, it reaches
    the service empty, and empty is no login (aiosmtplib logs in whenever a user name,
    even an empty one, is given)."""
    password = {"LT_NOTIFICATION_SMTP_PASSWORD": "s3cret"} if login else {}
    environment = config("docker-compose.yml", env={**SECRETS, **given, **password})["services"][
        "notification"
    ]["environment"]
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    smtp = SmtpSettings()
    assert smtp.username == login
    assert (smtp.password.get_secret_value() if smtp.password else None) == password.get(
        "LT_NOTIFICATION_SMTP_PASSWORD"
    )
    assert (smtp.port, smtp.start_tls) == (587, True)


def published_host_ports(service: dict[str, Any]) -> list[str]:
    """The fixed host ports a service publishes ("8002:8002", "127.0.0.1:9090:9090")."""
    return [str(p) for p in service.get("ports", []) if ":" in str(p)]


def test_what_the_files_say_of_scaling_holds_for_services_with_a_fixed_host_port() -> None:
    """The compose file said "Scale a service with `--scale routing=2`", but routing
    publishes 8002:8002, which a second container cannot bind: compose fails the start.
    Wherever the deployment files name ``--scale <service>=N`` for such a service, the
    same passage must say that it fails that way."""
    services = config("docker-compose.yml", "docker-compose.cluster.yml")["services"]
    texts = [ROOT / "docker-compose.yml", ROOT / "docker-compose.cluster.yml", ROOT / "README.md"]
    mentions = 0
    for path in texts:
        text = " ".join(line.lstrip("# ") for line in path.read_text().splitlines())
        for match in re.finditer(r"--scale ([\w-]+)=\d+", text):
            mentions += 1
            passage = text[match.start() - 300 : match.end() + 300]
            if published_host_ports(services[match[1]]):
                assert "port is already allocated" in passage, (path.name, passage)
    assert mentions  # the rule looks at something


def test_the_deployments_unit_channels_are_what_notification_reads() -> None:
    """The units' addresses shipped in the image are illustrative (.example), and the
    documented way to replace them, LT_NOTIFICATION_UNIT_CHANNELS_FILE, named no file
    compose put in the container: every unit notification went to .example. The file the
    deployer names on the host is now mounted where notification reads it."""
    env = {**SECRETS, "LT_NOTIFICATION_UNIT_CHANNELS_FILE": "/etc/lienthong/units.json"}
    notification = config("docker-compose.yml", env=env)["services"]["notification"]
    read = NotificationOptions().unit_channels_file  # the default: no variable overrides it
    assert "LT_NOTIFICATION_UNIT_CHANNELS_FILE" not in notification["environment"]
    in_image = Path("/app") / read.relative_to(ROOT)  # the Dockerfile copies the repo to /app
    assert f"/etc/lienthong/units.json:{in_image}:ro" in notification["volumes"]
    assert "COPY data ./data" in (ROOT / "Dockerfile").read_text()
    # The shipped file, the one to start from, is the illustrative one.
    assert ".example" in load_unit_directory(read).model_dump_json()
    # Replacing the service's volumes keeps the CA the Kafka client trusts.
    assert "kafka-trust:/app/.local/kafka-trust:ro" in notification["volumes"]


@pytest.mark.parametrize("files", FILES)
@pytest.mark.parametrize("service", PROCESSES)
def test_every_process_accepts_its_whole_compose_environment(
    files: tuple[str, ...], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the process does at start (read_settings): every variable under a prefix it
    reads is one of its settings, and every value parses (a wrong shape would stop it
    with exit code 78). The container's environment is compose's and nothing else."""
    environment = config(*files, env={**SECRETS, **WITNESS_VKEYS})["services"][service][
        "environment"
    ]
    for name in [n for n in os.environ if n.startswith("LT_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    settings_of = settings_class(service)
    read_settings(settings_of, service)  # exits the process (SystemExit) on a refusal
    assert not unknown_settings(settings_of, {n: str(v) for n, v in environment.items()})
    # A misspelt prefix (LT_ROUTNG_PORT) is under no prefix the process reads, so it
    # would start and ignore it: every name compose sets must be one the process reads
    # (the shared block hands the catalogue's to every service; intake and routing read it).
    unread = set(environment) - known_names(settings_of) - {"LT_CATALOGUE_CONFIGURATION"}
    assert not unread, sorted(unread)


@pytest.mark.parametrize("files", FILES)
def test_every_containers_log_is_rotated(files: tuple[str, ...]) -> None:
    """Docker's default json-file driver never rotates: the services' logs would grow
    until the disk holding the store and the broker is full."""
    for name, service in config(*files)["services"].items():
        logging = service.get("logging", {})
        assert logging.get("driver") == "json-file", name
        options = logging.get("options", {})
        assert re.fullmatch(r"\d+m", str(options.get("max-size"))), name
        assert int(options.get("max-file", 1)) >= 2, name


def test_each_service_is_reached_on_the_port_it_listens_on() -> None:
    """The port a process binds (its LT_<NAME>_PORT) is the one compose publishes, the
    one its health check asks, the one Prometheus scrapes and the one the other
    services' URLs name."""
    services = config("docker-compose.yml")["services"]
    scrape = yaml.safe_load((ROOT / "infra" / "observability" / "prometheus.yml").read_text())
    targets = {
        t for job in scrape["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    }
    urls = [
        str(value)
        for service in services.values()
        for value in service.get("environment", {}).values()
        if str(value).startswith("http://")
    ]
    for name in PROCESSES:
        service = services[name]
        prefix = "LT_WITNESS" if name.startswith("witness-") else f"LT_{name.upper()}"
        port = int(service["environment"][f"{prefix}_PORT"])
        assert service["ports"] == [f"{port}:{port}"], name
        check = " ".join(service["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/" in check or check.endswith(f"shared.healthcheck {name}")
        assert f"{name}:{port}" in targets, name
        named = [url for url in urls if url.startswith(f"http://{name}:")]
        assert all(url.startswith(f"http://{name}:{port}") for url in named), named


def test_every_file_mounted_from_the_repository_exists() -> None:
    """A bind mount whose source is missing is created by Docker as an empty folder: the
    container then reads a folder where it expects its configuration."""
    for files in FILES:
        for name, service in config(*files)["services"].items():
            for volume in service.get("volumes", []):
                source = volume.split(":", 1)[0]
                if source.startswith("./"):
                    assert (ROOT / source).is_file(), (name, source)


@pytest.mark.parametrize("files", FILES)
def test_the_broker_and_the_store_get_time_to_shut_down_cleanly(files: tuple[str, ...]) -> None:
    """Docker's default 10 s would kill a broker in its controlled shutdown or the store
    in its final checkpoint: each then recovers at its next start (slower, riskier)."""
    for name, service in config(*files)["services"].items():
        image = service.get("image", "")
        if image.startswith(("apache/kafka", "mongo:")):
            grace = service.get("stop_grace_period", "10s")
            assert int(grace.rstrip("s")) >= 60, (name, grace)
