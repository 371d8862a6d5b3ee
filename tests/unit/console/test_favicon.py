"""The console answers browsers' ``/favicon.ico`` with an icon (it was a 404 on every
page), without a session: an ICO holding a 32x32 PNG."""

from __future__ import annotations

import struct
import zlib

import httpx
from console.favicon import SIZE
from console.main import create_app


async def test_the_favicon_is_an_ico_holding_a_png_served_to_anyone() -> None:
    transport = httpx.ASGITransport(app=create_app())  # no lifespan: nothing else is needed
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as browser:
        answer = await browser.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/x-icon"
    assert "max-age" in answer.headers["cache-control"]
    icon = answer.content
    assert struct.unpack("<HHH", icon[:6]) == (0, 1, 1)  # an icon file with one image
    width, height, _, _, _, _, length, offset = struct.unpack("<BBBBHHII", icon[6:22])
    assert (width, height) == (SIZE, SIZE) and offset + length == len(icon)
    image = icon[offset:]
    assert image.startswith(b"\x89PNG\r\n\x1a\n") and image[12:16] == b"IHDR"
    assert struct.unpack(">II", image[16:24]) == (SIZE, SIZE)
    (idat_length,) = struct.unpack(">I", image[33:37])
    assert image[37:41] == b"IDAT"
    pixels = zlib.decompress(image[41 : 41 + idat_length])
    assert len(pixels) == SIZE * (1 + 3 * SIZE)  # a filter byte and RGB per row
