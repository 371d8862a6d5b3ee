"""``make jaeger``: a local Jaeger (v2, all in one, traces in memory) without Docker.

Jaeger publishes no package on the registries our machines reach, so the first run builds
its ``cmd/jaeger`` from the Go module proxy into ``~/.cache/lienthong/jaeger-<version>``
(about 30 minutes on a busy two-core machine, the packages shown as they compile; modules
in Go's cache under ``~/.cache/lienthong/go``); later runs start the
cached binary at once. It listens for OTLP on 4317 (gRPC) and 4318 (HTTP) and serves its
UI on http://127.0.0.1:16686. Then, in another terminal:

    LT_TELEMETRY_OTLP_ENDPOINT=http://127.0.0.1:4318 \\
    LT_CONSOLE_JAEGER_URL=http://127.0.0.1:16686 make run

    .venv/bin/python -m infra.jaeger            # build if needed, then run (Ctrl-C stops)
    .venv/bin/python -m infra.jaeger --build    # only build
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from infra.go import GO_CACHE, go_env

MODULE = "github.com/jaegertracing/jaeger"
VERSION = "v1.76.0"  # the release whose cmd/jaeger is Jaeger v2 (served by the Go proxy)
CACHE = GO_CACHE.parent
BUILD_DIR = CACHE / f"jaeger-{VERSION}"
BINARY = BUILD_DIR / "jaeger"


def _say(message: str) -> None:
    print(f"[jaeger] {message}", flush=True)


def build() -> Path:
    """The cached binary, built first if missing (``go get -tool`` then ``go build``)."""
    if BINARY.exists():
        return BINARY
    go = shutil.which("go")
    if go is None:
        raise SystemExit("[jaeger] go not found: install Go to build Jaeger")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    (BUILD_DIR / "go.mod").write_text("module lienthong.local/jaeger-build\n\ngo 1.24\n")
    _say(f"building {MODULE}/cmd/jaeger@{VERSION} once (several minutes; cached in {BUILD_DIR})")
    steps = [
        [go, "get", "-tool", f"{MODULE}/cmd/jaeger@{VERSION}"],
        # -v names each package as it compiles: the progress of a long first build.
        [go, "build", "-v", "-o", str(BINARY.with_suffix(".partial")), f"{MODULE}/cmd/jaeger"],
    ]
    env = go_env("-modcacherw -buildvcs=false")
    for argv in steps:
        if subprocess.run(argv, cwd=BUILD_DIR, env=env, check=False).returncode != 0:
            raise SystemExit(f"[jaeger] failed: {' '.join(argv)}")
    BINARY.with_suffix(".partial").rename(BINARY)  # only a finished build is ever cached
    _say(f"built {BINARY}")
    return BINARY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.jaeger", description=__doc__)
    parser.add_argument("--build", action="store_true", help="build only, do not run")
    args = parser.parse_args(argv)
    binary = build()
    if args.build:
        return 0
    _say("OTLP on 127.0.0.1:4317 (gRPC) and :4318 (HTTP); UI on http://127.0.0.1:16686")
    try:
        return subprocess.run([str(binary)], check=False).returncode
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
