"""docker-compose.yml checked statically (no Docker engine here): shape, health, settings."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ["intake", "routing", "notification", "audit", "console"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def env_names(settings_class: type[BaseSettings]) -> set[str]:
    """Every environment variable a settings class (and its nested groups) reads."""
    prefix = settings_class.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, field in settings_class.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            names |= env_names(annotation)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def test_every_container_has_an_image_or_build_and_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(SERVICES) | {"kafka", "mongo"} <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if service.get("restart") == "no":  # a one-shot job: waited for by completion
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_infrastructure_is_the_official_images_configured_for_transactions(
    compose: dict[str, Any],
) -> None:
    kafka, mongo = compose["services"]["kafka"], compose["services"]["mongo"]
    assert kafka["image"].startswith("apache/kafka:4")
    assert "broker,controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert mongo["image"] == "mongo:8"
    assert "--replSet" in mongo["command"]
    assert "rs.initiate" in " ".join(mongo["healthcheck"]["test"])


@pytest.mark.parametrize("service", SERVICES)
def test_service_environment_names_are_settings_the_service_reads(
    compose: dict[str, Any], service: str
) -> None:
    config = importlib.import_module(f"{service}.config")
    settings_class = getattr(config, f"{service.capitalize()}Settings")
    known = env_names(settings_class) | {"LT_CATALOGUE_CONFIGURATION"}
    definition = compose["services"][service]
    environment = set(definition["environment"])
    assert environment <= known, f"unknown settings: {sorted(environment - known)}"
    assert {"LT_KAFKA_BOOTSTRAP_SERVERS", "LT_MONGO_URI"} <= environment
    assert definition["command"] == ["python", "-m", f"{service}.main"]
    assert definition["healthcheck"]["test"][-1] == service
    assert {"kafka", "mongo"} <= set(definition["depends_on"])


def test_keycloak_is_the_official_image_importing_the_realm_with_secrets_from_outside(
    compose: dict[str, Any],
) -> None:
    keycloak = compose["services"]["keycloak"]
    assert keycloak["image"] == "quay.io/keycloak/keycloak:26.5.6"
    assert "--import-realm" in keycloak["command"]
    realm_mount = "./infra/keycloak/realm-lienthong-deployment.json:/opt/keycloak/data/import/"
    assert any(volume.startswith(realm_mount) for volume in keycloak["volumes"])
    assert keycloak["env_file"] == [{"path": "keycloak-secrets.env", "required": True}]
    assert ":?" in keycloak["environment"]["KC_BOOTSTRAP_ADMIN_PASSWORD"]


def test_the_image_runs_every_service_module() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY services ./services" in dockerfile and "COPY data ./data" in dockerfile
    for service in SERVICES:
        assert (ROOT / "services" / service / "main.py").exists()


def test_the_store_requires_a_login_and_each_service_has_its_own_user(
    compose: dict[str, Any],
) -> None:
    mongo = compose["services"]["mongo"]
    assert "--keyFile" in mongo["command"]  # access control on a replica set
    assert mongo["environment"]["MONGO_INITDB_ROOT_PASSWORD"].startswith(
        "${LT_MONGO_ROOT_PASSWORD:?"
    )
    mounts = " ".join(mongo["volumes"])
    assert "infra/mongo/service-users.js:/docker-entrypoint-initdb.d/" in mounts
    script = (ROOT / "infra" / "mongo" / "service-users.js").read_text()
    assert '{ role: "readWrite", db: `${prefix}${service}` }' in script
    for service in SERVICES:
        environment = compose["services"][service]["environment"]
        assert environment["LT_MONGO_USERNAME"] == service
        password = f"${{LT_{service.upper()}_MONGO_PASSWORD:?"
        assert environment["LT_MONGO_PASSWORD"].startswith(password)  # required, never a default
        assert mongo["environment"][f"LT_{service.upper()}_MONGO_PASSWORD"].startswith(password)
