"""Go's caches for the project's Go work (interop tests, ``make jaeger``), outside the clone.

``infra/test.sh`` fetches the interop test's module into the same places.
"""

from __future__ import annotations

import os
from pathlib import Path

GO_CACHE = Path.home() / ".cache" / "lienthong" / "go"


def go_env(flags: str) -> dict[str, str]:
    """The environment to run ``go`` with: module and build caches under ``GO_CACHE``."""
    return {
        **os.environ,
        "GOMODCACHE": str(GO_CACHE / "mod"),
        "GOCACHE": str(GO_CACHE / "build"),
        "GOFLAGS": flags,
    }
