"""What the harness runs itself: a broker or store of its own, a latency proxy, receivers.

- ``PrivateInfra``: a Kafka broker or a store started by infra/devstack.py on free ports
  under the run's own folder, so stopping it never touches the shared 9092/27017.
- ``LatencyProxy``: a TCP proxy in front of the store, in its own thread, that can add
  a delay to every reply (the store answering slowly, so transactions time out).
- ``MailSink``: an SMTP server that keeps every message (duplicates are counted).
- ``WebhookReceiver``: an agency endpoint that can hang or answer 500 for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request, Response

from shared.testing import free_port

ROOT = Path(__file__).resolve().parent.parent


class PrivateInfra:
    """A broker or store of the run's own (same binaries as devstack, own ports and data)."""

    def __init__(
        self, component: Literal["kafka", "store"], local_dir: Path, timeout_s: float = 240
    ) -> None:
        self.component = component
        self.port = free_port()
        self._timeout_s = timeout_s
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
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=self._timeout_s)
        if proc.returncode != 0:
            raise RuntimeError(f"devstack {command} {self.component}: {out.decode()[-2000:]}")

    async def start(self) -> None:
        await self._devstack("start")

    async def stop(self) -> None:
        await self._devstack("stop")


class LatencyProxy:
    """Forwards TCP to the store; ``delay_s`` > 0 holds every reply chunk that long."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.delay_s = 0.0
        self._target = target_port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=10)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._connect, "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, up_writer, slow=False),
            self._pipe(up_reader, writer, slow=True),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, slow: bool
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if slow and self.delay_s > 0:
                    await asyncio.sleep(self.delay_s)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


class _Keeper:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.message_ids: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content.decode("utf-8", errors="replace")
        for line in content.splitlines():
            if line.lower().startswith("message-id:"):
                self.message_ids[line.split(":", 1)[1].strip()] += 1
                break
        return "250 OK"


class MailSink:
    """The SMTP server the notification service sends to; counts each Message-ID."""

    def __init__(self) -> None:
        self.port = free_port()
        self._keeper = _Keeper()
        self._controller = Controller(self._keeper, hostname="127.0.0.1", port=self.port)

    @property
    def message_ids(self) -> Counter[str]:
        return self._keeper.message_ids

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


class WebhookReceiver:
    """An agency system's endpoint; ``hang_s`` or ``fail_next`` make it misbehave."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.hang_s = 0.0
        self.fail_next = 0
        self.accepted: Counter[str] = Counter()  # delivery id -> 2xx answers given
        self.requests = 0
        app = FastAPI()
        app.post("/hook")(self._hook)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None)
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: Request) -> Response:
        self.requests += 1
        await request.body()
        if self.hang_s > 0:
            await asyncio.sleep(self.hang_s)  # the receiver hangs: the sender times out
            return Response(status_code=204)
        if self.fail_next > 0:
            self.fail_next -= 1
            return Response(status_code=500)
        self.accepted[request.headers.get("X-LT-Delivery-Id", "?")] += 1
        return Response(status_code=204)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers no start event
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
