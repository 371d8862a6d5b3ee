"""Reading a process's settings at start: a misspelt setting is refused, not ignored.

pydantic-settings reads the variables it knows and ignores the others, so
``LT_KAFKA_BOOTSTRAP_SERVERS`` set one letter short would leave the default broker
address in place without a word. ``read_settings`` first looks at every environment
variable under a prefix the process's settings read (its own ``LT_<SERVICE>_`` and the
shared ``LT_KAFKA_``, ``LT_MONGO_``, ``LT_AUTH_`` ...): one that no settings field knows
stops the start, named with the closest known name. Variables under other prefixes (the
other services', the tooling's) are not looked at: compose and ``make run`` hand every
service the same shared environment.

A refused start, an unknown name or a value the settings refuse alike, writes one JSON
log line on stdout (where the logs go) and a readable message on stderr, and exits with
``SETTINGS_EXIT`` (78, EX_CONFIG of sysexits.h). Values never appear in either: a
refused value may be a secret.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings

S = TypeVar("S", bound=BaseSettings)
SETTINGS_EXIT = 78  # EX_CONFIG: a configuration error; restarting will not help

# Variables that share a prefix with the services' settings but are read by the tooling
# around them, never by a service: compose interpolates them into other variables, and
# ``make run`` / ``infra.devstack`` / ``infra.store_auth`` read them from the same shell.
TOOLING = re.compile(
    r"LT_(?:"
    r"KAFKA_(?:PORT|SASL_PORT|CONTROLLER_PORT|LIBS|CLUSTER_ID)"  # infra/devstack.py, cluster
    r"|KAFKA_TLS_NAMES"  # docker-compose files: the names of kafka-tls's broker certificate
    r"|MONGO_ROOT_(?:USERNAME|PASSWORD)"  # docker-compose.yml: the store's administrator
    r"|(?:INTAKE|ROUTING|NOTIFICATION|AUDIT|CONSOLE)_MONGO_PASSWORD"  # each one's LT_MONGO_PASSWORD
    r"|CONSOLE_URL"  # docker-compose.yml: LT_CONSOLE_SIGNIN_PUBLIC_URL
    r"|AUDIT_LOG_VKEY|WITNESS_\d+_(?:NAME|VKEY)"  # docker-compose.yml: the witnesses
    r")"
)


def _groups(settings_class: type[BaseSettings]) -> Iterator[type[BaseSettings]]:
    """The class and every settings group nested in it."""
    yield settings_class
    for field in settings_class.model_fields.values():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            yield from _groups(annotation)


def _prefix(group: type[BaseSettings]) -> str:
    return str(group.model_config.get("env_prefix") or "").upper()


def known_names(settings_class: type[BaseSettings]) -> frozenset[str]:
    """Every environment variable ``settings_class`` reads (its nested groups' too)."""
    names: set[str] = set()
    for group in _groups(settings_class):
        for name, field in group.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
                continue  # a group: read from its own variables
            alias = field.validation_alias
            if isinstance(alias, str):
                names.add(alias.upper())
            elif isinstance(alias, AliasChoices):
                names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
            else:
                names.add(f"{_prefix(group)}{name}".upper())
    return frozenset(names)


def read_prefixes(settings_class: type[BaseSettings]) -> frozenset[str]:
    """The ``LT_*_`` prefixes ``settings_class`` and its groups read variables under."""
    return frozenset(p for group in _groups(settings_class) if (p := _prefix(group)))


def unknown_settings(
    settings_class: type[BaseSettings], environ: Mapping[str, str]
) -> list[tuple[str, str | None]]:
    """Each variable of ``environ`` under one of the class's prefixes that none of its
    fields reads, with the closest name it does read (None when nothing is close)."""
    known, prefixes = known_names(settings_class), read_prefixes(settings_class)
    unknown = []
    for variable in sorted(environ):
        name = variable.upper()  # pydantic-settings matches names in any case
        if name in known or TOOLING.fullmatch(name):
            continue
        under = [prefix for prefix in prefixes if name.startswith(prefix)]
        if under:
            unknown.append((variable, _closest(name, min(under, key=len), known)))
    return unknown


def _closest(name: str, prefix: str, known: frozenset[str]) -> str | None:
    """The known name under ``prefix`` whose rest reads most like ``name``'s (the shared
    prefix alone would make every name look close)."""
    rests = {k[len(prefix) :]: k for k in known if k.startswith(prefix)}
    close = difflib.get_close_matches(name[len(prefix) :], sorted(rests), n=1, cutoff=0.6)
    return rests[close[0]] if close else None


def read_settings(
    settings_class: type[S],
    service: str,
    *,
    names_of: type[BaseSettings] | None = None,
    environ: Mapping[str, str] | None = None,
) -> S:
    """``settings_class()`` read from the environment, after checking that every variable
    under its prefixes is one it knows; a refusal ends the process (``SETTINGS_EXIT``).

    ``names_of``: the class whose names the environment is checked against, when the
    process reads only part of a service's settings from that service's environment
    (``python -m audit.keys`` in the audit container)."""
    environ = os.environ if environ is None else environ
    problems = [
        {
            "setting": variable,
            "error": "not a setting "
            + service
            + " reads"
            + (f"; did you mean {closest}?" if closest else ""),
        }
        for variable, closest in unknown_settings(names_of or settings_class, environ)
    ]
    if problems:
        refuse(service, problems)
    try:
        return settings_class()
    except ValidationError as exc:
        refuse(service, describe(exc, settings_class))


def describe(exc: ValidationError, settings_class: type[BaseSettings]) -> list[dict[str, str]]:
    """The refused settings by their variable's name and why, without their values."""
    prefixes = {group.__name__: _prefix(group) for group in _groups(settings_class)}
    prefix = prefixes.get(exc.title, "")
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        location = [str(part) for part in error["loc"]]
        setting = exc.title  # a check of several settings together
        if location:  # a field, by its name in the group (or its variable, if aliased)
            field = location[0].upper()
            setting = field if field.startswith("LT_") else f"{prefix}{field}"
        detail = ".".join(location[1:])
        problems.append(
            {"setting": setting, "error": error["msg"] + (f" (at {detail})" if detail else "")}
        )
    return problems


def refuse(service: str, problems: list[dict[str, str]]) -> NoReturn:
    """Log the refused settings as one JSON line and say it readably; end the process."""
    line: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": "CRITICAL",
        "logger": __name__,
        "message": "settings refused",
        "service": service,
        "settings": problems,
    }
    print(json.dumps(line, ensure_ascii=False), flush=True)
    readable = "\n".join(f"  {p['setting']}: {p['error']}" for p in problems)
    print(f"{service}: settings refused, not started:\n{readable}", file=sys.stderr, flush=True)
    raise SystemExit(SETTINGS_EXIT)
