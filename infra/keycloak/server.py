"""Run Keycloak locally for ``make run`` and ``make test``, without Docker.

The official server distribution (``org.keycloak:keycloak-quarkus-dist``, a zip on
Maven Central) is resolved by ``infra/keycloak/pom.xml`` and unpacked once into a cache
outside the clone (``~/.cache/lienthong/keycloak-<version>``, or ``LT_KEYCLOAK_HOME``).
Keycloak runs in development mode on ``127.0.0.1:LT_KEYCLOAK_PORT`` (8180) with an
in-memory database, importing ``realm-lienthong.json`` at every start; it is ready
when a real client-credentials token request succeeds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from infra.keycloak.realm import REALM, REALM_FILE, dev_environment
from shared.auth.identities import client_secret_variable

VERSION = "26.5.6"
POM = Path(__file__).resolve().parent / "pom.xml"
CACHE = Path(os.environ.get("LT_CACHE_DIR", Path.home() / ".cache" / "lienthong"))
HOME = Path(os.environ.get("LT_KEYCLOAK_HOME", CACHE / f"keycloak-{VERSION}"))
# The client whose token request proves readiness.
PROBE_CLIENT = "intake"


def port() -> int:
    return int(os.environ.get("LT_KEYCLOAK_PORT", "8180"))


def base_url() -> str:
    return f"http://127.0.0.1:{port()}"


def token_url() -> str:
    return f"{base_url()}/realms/{REALM}/protocol/openid-connect/token"


def ensure_distribution(log: Callable[[str], None]) -> Path:
    """Resolve and unpack the distribution once; later starts never touch the network."""
    if (HOME / "bin" / "kc.sh").exists():
        return HOME
    mvn = shutil.which("mvn")
    if mvn is None:
        sys.exit("[devstack] Maven (mvn) is required to fetch Keycloak")
    partial = HOME.with_name(HOME.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    log(f"resolving Keycloak {VERSION} from Maven Central (165 MB, first start only)")
    # Not quiet and not batch mode: Maven then shows its download progress.
    subprocess.run(
        [
            mvn,
            "-f",
            str(POM),
            "dependency:unpack",
            f"-Dkeycloak.version={VERSION}",
            f"-Dkeycloak.dir={partial}",
            f"-Dkeycloak.markers={partial}/.markers",
        ],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    # The zip holds one top-level folder, keycloak-<version>; move it into place at once.
    unpacked = partial / f"keycloak-{VERSION}"
    HOME.parent.mkdir(parents=True, exist_ok=True)
    unpacked.rename(HOME)
    shutil.rmtree(partial, ignore_errors=True)
    log(f"Keycloak unpacked into {HOME}")
    return HOME


def command(home: Path) -> tuple[list[str], dict[str, str]]:
    """The start-dev command line and its environment (dev admin, bounded heap)."""
    import_dir = home / "data" / "import"
    import_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REALM_FILE, import_dir / REALM_FILE.name)
    env = {
        **dev_environment(),
        **os.environ,
        "JAVA_OPTS_KC_HEAP": "-Xms128m -Xmx512m",
        "KC_BOOTSTRAP_ADMIN_USERNAME": os.environ.get("LT_KEYCLOAK_ADMIN", "admin"),
        "KC_BOOTSTRAP_ADMIN_PASSWORD": os.environ.get("LT_KEYCLOAK_ADMIN_PASSWORD", "dev-admin"),
    }
    argv = [
        str(home / "bin" / "kc.sh"),
        "start-dev",
        "--http-host=127.0.0.1",
        f"--http-port={port()}",
        # A fixed issuer whatever host name a client uses.
        f"--hostname={base_url()}",
        "--db=dev-mem",
        "--import-realm",
        # Keycloak 26 serialises a user's concurrent logins under brute-force protection
        # and refuses the others ("Invalid user credentials", then a temporary lockout);
        # the demo users log in from parallel test processes, so allow them here.
        "--spi-brute-force-protector--default-brute-force-detector--allow-concurrent-requests=true",
        "--log-level=WARN,org.keycloak.exportimport:INFO",
    ]
    return argv, env


def token_probe() -> None:
    """Obtain a real access token with client credentials; raises until Keycloak can."""
    variable = client_secret_variable(PROBE_CLIENT)
    secret = os.environ.get(variable) or dev_environment()[variable]
    body = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": PROBE_CLIENT, "client_secret": secret}
    ).encode()
    with urllib.request.urlopen(token_url(), data=body, timeout=5) as response:
        if "access_token" not in json.load(response):
            raise RuntimeError("token response without access_token")
