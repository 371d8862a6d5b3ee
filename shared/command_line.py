"""The command line of a program that takes no arguments (a service, a key or schema
writer): ``--help`` prints its usage and exits 0, any other argument is refused with its
usage and exit 2, both before the program starts, creates or writes anything."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def no_arguments(prog: str, description: str, argv: Sequence[str] | None = None) -> None:
    """Return when ``argv`` (default: ``sys.argv[1:]``) is empty; else answer and exit."""
    argparse.ArgumentParser(prog=prog, description=description).parse_args(argv)


def service_arguments(service: str, argv: Sequence[str] | None = None) -> None:
    """``python -m <service>.main``: the service takes its settings from the environment
    only, so its command line takes nothing but ``--help``."""
    no_arguments(
        f"python -m {service}.main",
        f"Run the {service} service. Its settings come from the environment only: "
        f"LT_{service.upper()}_* and the shared LT_* groups (docs/{service}.md, Settings).",
        argv,
    )
