"""Image bytes for the fixture site, made in memory: no media files live in the repository."""

from __future__ import annotations

import io
import random
import struct
import zlib
from functools import lru_cache

from PIL import Image as PILImage
from PIL import ImageDraw

from sandbox.site.model import Image

_TRUE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "noise": "image/png", "bomb": "image/png"}


@lru_cache(maxsize=64)
def image_bytes(image: Image) -> tuple[bytes, str]:
    """(body, content type the server sends) for `image`."""
    if image.kind == "bytes":
        if image.data is None:
            raise ValueError("a bytes image needs its data")
        return image.data, image.content_type or "application/octet-stream"
    if image.kind == "bomb":
        body = _bomb_png(image.width, image.height)
    elif image.kind == "noise":
        body = _noise_png(image.width, image.height, image.seed)
    else:
        body = _picture(image.width, image.height, image.seed, image.kind)
    return body, image.content_type or _TRUE_TYPES[image.kind]


def _picture(width: int, height: int, seed: int, kind: str) -> bytes:
    """A picture with structure (so perceptual hashes differ by seed), not flat colour."""
    rng = random.Random(seed)
    picture = PILImage.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(picture)
    for _ in range(8):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = rng.randrange(x0, width + 1), rng.randrange(y0, height + 1)
        draw.rectangle((x0, y0, x1, y1), fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    picture.save(out, format="JPEG" if kind == "jpeg" else "PNG", quality=90)
    return out.getvalue()


def _noise_png(width: int, height: int, seed: int) -> bytes:
    # Random pixels do not compress: the file is as big as the pixel count says.
    raw = random.Random(seed).randbytes(width * height * 3)
    out = io.BytesIO()
    PILImage.frombytes("RGB", (width, height), raw).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of width x height zeros: kilobytes on the wire, hundreds of
    megapixels when decoded. Written by hand because asking Pillow to build it would itself
    allocate the image the test is meant to refuse."""
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    chunks = [compressor.compress(row) for _ in range(height)]
    chunks.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(chunks))
        + _chunk(b"IEND", b"")
    )
