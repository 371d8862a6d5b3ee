"""docker-compose.yml as its operator lives with it: volumes the containers can write,
containers that come back after a reboot, and settings whose code default only makes
sense on a developer's machine. Resolved as compose resolves the files
(test_compose_spec.config); no Docker engine here.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.foundation.test_compose_spec import ROOT, config

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
    realm = "./infra/keycloak/realm-lienthong.json:/opt/keycloak/data/import/"
    assert any(v.startswith(realm) and v.endswith(":ro") for v in keycloak["volumes"])
    assert (ROOT / "infra" / "keycloak" / "realm-lienthong.json").is_file()


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
