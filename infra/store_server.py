"""Which SecantusDB server the local store runs, and building the fast one once per machine.

The Rust server (``secantusd-rs`` from crate ``secantus-mdb``) is 3-4 times faster than the
Python server and does not slow down with use, so it is the default. It is built with
``cargo install`` the first time (15-20 minutes on two cores, cargo's own progress shown)
into a cache outside the clone, so later clones and CI on the same machine skip the build.
If it cannot be built, the Python server from the ``local`` extra runs instead, and the
console says so loudly: a silent fallback would make every measurement lie.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RUST_CRATE = "secantus-mdb"
RUST_VERSION = "0.5.3-beta.196"
RUST_BINARY = "secantusd-rs"
CACHE = Path(os.environ.get("LT_CACHE_DIR", Path.home() / ".cache" / "lienthong"))
# The Rust server caps its oplog at 100,000 entries by default: minutes of load, after
# which every 1,000 writes delete the 1,000 oldest, and whole cohorts of journeys stall
# for seconds (five-minute runs at 8 and 10 journeys/s: p99 submit -> audited 2.5 and
# 2.3 s against 1.2 and 1.8 s with this cap). mongod caps its oplog by size (at least
# 990 MB), not by a count this small; the hour of retention still bounds ours.
OPLOG_MAX_ENTRIES = "2000000"


@dataclass(frozen=True)
class StoreServer:
    """A store server to launch: its kind, the program and its data folder name."""

    kind: str  # "rust" or "python"
    program: Path

    def command(self, host: str, port: int, data_dir: Path, auth: bool = False) -> list[str]:
        argv = [str(self.program), "--host", host, "--port", str(port)]
        argv += ["--storage-path", str(data_dir), "--log-level", "WARNING"]
        if self.kind == "rust":
            argv += ["--cache-size", os.environ.get("LT_STORE_CACHE_SIZE", "512M")]
            argv += ["--oplog-max-entries", OPLOG_MAX_ENTRIES]
            argv += shlex.split(os.environ.get("LT_STORE_EXTRA_ARGS", ""))
        return [*argv, "--auth"] if auth else argv


def rust_root() -> Path:
    return CACHE / f"{RUST_BINARY}-{RUST_VERSION}"


def rust_binary() -> Path:
    return rust_root() / "bin" / RUST_BINARY


def _say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def _shout(lines: list[str]) -> None:
    bar = "!" * 78
    print("\n".join([bar, *(f"!! {line}" for line in lines), bar]), file=sys.stderr, flush=True)


def build_rust_server() -> bool:
    """``cargo install`` the pinned crate into the cache; True when the binary is there.

    A lock file keeps two clones (or a test run and ``make run``) from building at once:
    the second waits and then finds the binary.
    """
    if rust_binary().exists():
        return True
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not Path(cargo).exists():
        _shout(["cargo not found: cannot build the Rust store server"])
        return False
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{RUST_BINARY}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if rust_binary().exists():
            return True
        _say(
            f"building {RUST_BINARY} {RUST_VERSION} (first time on this machine only: "
            f"15-20 minutes on two cores) into {rust_root()}"
        )
        argv = [cargo, "install", RUST_CRATE, "--version", RUST_VERSION, "--locked"]
        argv += ["--ignore-rust-version", "--root", str(rust_root())]
        argv += ["--target-dir", str(CACHE / "cargo-target")]
        # cargo writes its "Compiling x (n/m)" progress to stderr, which we pass through.
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, check=False)
        if result.returncode != 0 and "--locked" in argv:
            argv.remove("--locked")  # a yanked lock-file dependency must not block the build
            result = subprocess.run(argv, stdin=subprocess.DEVNULL, check=False)
    return result.returncode == 0 and rust_binary().exists()


def python_server() -> StoreServer | None:
    venv_bin = str(Path(sys.executable).parent)
    found = shutil.which("secantusd-py", path=venv_bin) or shutil.which("secantusd-py")
    return StoreServer("python", Path(found)) if found else None


def choose_store_server() -> StoreServer:
    """The server ``LT_STORE_SERVER`` asks for (``rust``, the default, or ``python``)."""
    wanted = os.environ.get("LT_STORE_SERVER", "rust")
    if wanted == "rust":
        if build_rust_server():
            return StoreServer("rust", rust_binary())
        _shout(
            [
                f"FALLING BACK to the Python SecantusDB server: {RUST_BINARY} could not be built.",
                "Everything works, 3-4 times slower; benchmark figures are not comparable.",
                f"Retry: rm -rf {rust_root()} && make infra-up",
            ]
        )
    fallback = python_server()
    if fallback is None:
        sys.exit("[devstack] secantusd-py not found: install the 'local' extra (make install)")
    return fallback
