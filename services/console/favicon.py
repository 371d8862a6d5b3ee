"""The console's icon, ``/favicon.ico``: browsers ask for it on every page, and a 404
each time fills the browser's console and the service's logs.

Drawn here rather than kept as a binary file: a gold five-pointed star on the header's
dark red, 32x32, as a PNG inside an ICO container (which every browser reads).
"""

from __future__ import annotations

import math
import struct
import zlib
from functools import cache

SIZE = 32
BACKGROUND = (0x8B, 0x1A, 0x1A)  # the pages' header
STAR = (0xFF, 0xCD, 0x00)
SAMPLES = 4  # per side of a pixel: the star's edges are smoothed


def _star(cx: float, cy: float, outer: float, inner: float) -> list[tuple[float, float]]:
    """The ten corners of a five-pointed star, one point up."""
    return [
        (
            cx + (outer if i % 2 == 0 else inner) * math.sin(i * math.pi / 5),
            cy - (outer if i % 2 == 0 else inner) * math.cos(i * math.pi / 5),
        )
        for i in range(10)
    ]


def _inside(x: float, y: float, polygon: list[tuple[float, float]]) -> bool:
    """Ray casting: does a ray from (x, y) to the right cross the edges an odd number of times."""
    crossings = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            crossings = not crossings
    return crossings


def _pixels() -> bytes:
    star = _star(SIZE / 2, SIZE / 2 + 1.5, SIZE * 0.44, SIZE * 0.18)
    rows = []
    for py in range(SIZE):
        row = bytearray(b"\x00")  # PNG filter: none
        for px in range(SIZE):
            covered = sum(
                _inside(px + (sx + 0.5) / SAMPLES, py + (sy + 0.5) / SAMPLES, star)
                for sx in range(SAMPLES)
                for sy in range(SAMPLES)
            ) / (SAMPLES * SAMPLES)
            row += bytes(
                round(b + (s - b) * covered) for b, s in zip(BACKGROUND, STAR, strict=True)
            )
        rows.append(bytes(row))
    return b"".join(rows)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png() -> bytes:
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(_pixels(), 9))
        + _chunk(b"IEND", b"")
    )


@cache
def favicon() -> bytes:
    """An ICO file holding one 32x32 PNG image."""
    image = png()
    directory = struct.pack("<HHH", 0, 1, 1)  # reserved, type icon, one image
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 6 + 16)
    return directory + entry + image
