"""Reading a configuration from the versioned files under ``data/catalogue``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.catalogue.configuration import Catalogue
from shared.catalogue.model import CatalogueError, Procedure

CONFIGURATION_ENV_VAR = "LT_CATALOGUE_CONFIGURATION"
DEFAULT_CONFIGURATION = "three-level"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "catalogue"
PROCEDURES_FILE = "procedures.json"
SUPPORTED_SCHEMA = 1


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"catalogue file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"{path}: top level must be a JSON object")
    if data.get("schema") != SUPPORTED_SCHEMA:
        raise CatalogueError(f"{path}: unsupported schema {data.get('schema')!r}")
    if not isinstance(data.get("version"), str):
        raise CatalogueError(f"{path}: missing 'version'")
    return data


def available_configurations(data_dir: Path | None = None) -> tuple[str, ...]:
    """Configuration names for which a ``units-<name>.json`` file exists."""
    folder = data_dir or DEFAULT_DATA_DIR
    return tuple(sorted(p.stem.removeprefix("units-") for p in folder.glob("units-*.json")))


def load_catalogue(
    configuration: str = DEFAULT_CONFIGURATION, data_dir: Path | None = None
) -> Catalogue:
    """Load and check one configuration (default data: the repo's ``data/catalogue``)."""
    folder = data_dir or DEFAULT_DATA_DIR
    units_path = folder / f"units-{configuration}.json"
    if not units_path.is_file():
        known = ", ".join(available_configurations(folder)) or "none"
        raise CatalogueError(f"unknown configuration {configuration!r} (available: {known})")
    units_doc = _read_json(units_path)
    if units_doc.get("configuration", configuration) != configuration:
        raise CatalogueError(
            f"{units_path.name} declares configuration {units_doc['configuration']!r}"
        )
    procedures_doc = _read_json(folder / PROCEDURES_FILE)
    if units_doc["version"] != procedures_doc["version"]:
        raise CatalogueError(
            f"version mismatch: {units_path.name} is {units_doc['version']}, "
            f"{PROCEDURES_FILE} is {procedures_doc['version']}"
        )
    try:
        procedures = [Procedure.model_validate(p) for p in procedures_doc.get("procedures", [])]
    except (ValidationError, TypeError) as exc:
        raise CatalogueError(f"invalid {folder / PROCEDURES_FILE}: {exc}") from exc
    configurations = set(available_configurations(folder))
    for procedure in procedures:
        if unknown := set(procedure.applies_to) - configurations:
            raise CatalogueError(f"procedure {procedure.code}: unknown configurations {unknown}")
    try:
        return Catalogue(
            configuration=configuration,
            version=units_doc["version"],
            levels=units_doc.get("levels"),
            retired_levels=units_doc.get("retired_levels", ()),
            kinds=units_doc.get("kinds"),
            units=units_doc.get("units"),
            procedures=[p for p in procedures if configuration in p.applies_to],
        )
    except ValidationError as exc:
        raise CatalogueError(f"invalid {units_path}: {exc}") from exc
