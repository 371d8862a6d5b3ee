"""A slow client cannot hold a connection, and an unparsable request gets problem+json.

A real uvicorn server with the services' settings on a loopback port; the read deadline
is set to a fifth of a second so the tests take no longer than that.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from fastapi import FastAPI

from shared.app import server_config
from shared.settings import HttpSettings

DEADLINE_S = 0.2
WAIT_S = 10  # far beyond the deadline: only a broken server makes a test wait this long


@pytest.fixture
async def port() -> AsyncIterator[int]:
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    # Listening before the server starts: connections queue until it accepts them.
    listening = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(app, HttpSettings(read_timeout_seconds=DEADLINE_S)))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    yield listening.getsockname()[1]
    server.should_exit = True
    await serving


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """The next response on the connection: status, headers, body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT_S)
    status_line, *lines = head.decode().strip().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    body = await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


async def test_headers_sent_too_slowly_get_408_and_the_connection_closes(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    status, headers, body = await answer(reader)
    assert status == 408
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "request_timeout"
    assert await asyncio.wait_for(reader.read(), WAIT_S) == b""  # closed by the server
    writer.close()


async def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    status, _, _ = await answer(reader)
    assert status == 408
    assert await asyncio.wait_for(reader.read(), WAIT_S) == b""
    writer.close()


async def test_a_request_in_pieces_within_the_deadline_is_served(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for piece in (b"POST /echo HTTP/1.1\r\n", b"Host: x\r\nContent-Length: 10\r\n",
                  b"Content-Type: application/json\r\n\r\n", b'{"a":', b' "b"}'):  # fmt: skip
        writer.write(piece)
        await writer.drain()
    status, _, body = await answer(reader)
    assert (status, json.loads(body)) == (200, {"a": "b"})
    writer.close()


async def test_a_body_trickled_too_slowly_gets_408_and_the_route_never_runs(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
    writer.write(b"Content-Length: 1000\r\n\r\n{")
    status, _, body = await answer(reader)
    assert (status, json.loads(body)["code"]) == (408, "request_timeout")
    assert await asyncio.wait_for(reader.read(), WAIT_S) == b""
    writer.close()


async def test_a_second_request_on_a_connection_has_its_own_deadline(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\n")
    assert (await answer(reader))[0] == 200
    status, _, body = await answer(reader)  # the second never finished its headers
    assert (status, json.loads(body)["code"]) == (408, "request_timeout")
    writer.close()


async def test_an_idle_kept_alive_connection_is_not_cut_by_the_read_deadline(
    port: int,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await answer(reader))[0] == 200
    # Between requests only keep-alive (75 s) bounds the wait: nothing comes.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), 3 * DEADLINE_S)
    writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await answer(reader))[0] == 200
    writer.close()


async def test_an_unparsable_request_gets_a_problem_document(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = await answer(reader)
    assert status == 400
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "malformed_http"
    writer.close()
