"""A broker or store of a test's own (same binaries, own data and ports) that it may stop."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Literal

from shared.testing import free_port

ROOT = Path(__file__).resolve().parents[3]


class PrivateServer:
    """Started and stopped with infra/devstack.py, under the test's own folder."""

    def __init__(self, component: Literal["kafka", "store"], local_dir: Path) -> None:
        self.component = component
        self.port = free_port()
        ports = (
            {
                "LT_KAFKA_PORT": str(self.port),
                "LT_KAFKA_CONTROLLER_PORT": str(free_port()),
                "LT_KAFKA_SASL_PORT": str(free_port()),
            }
            if component == "kafka"
            else {"LT_STORE_PORT": str(self.port)}
        )
        self._env = {**os.environ, "LT_LOCAL_DIR": str(local_dir), **ports}

    async def _devstack(self, command: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "infra" / "devstack.py"), command, self.component,
            env=self._env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=180)
        assert proc.returncode == 0, out.decode()

    async def start(self) -> None:
        await self._devstack("start")

    async def stop(self) -> None:
        await self._devstack("stop")
