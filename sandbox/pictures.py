"""Synthetic pictures for the sandbox world: abstract shapes drawn from a seed, never a person.

They exist to be hashed: each has enough structure for a confident PDQ hash (quality well above
the matchers' floor), different seeds give far-apart hashes, and `mirrored` gives the copy a
re-poster flips to dodge exact matching. Encoder output differs between Pillow builds, so a
bank built from these pictures is computed from the bytes at run time, never stored.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageOps

SIZE = (640, 480)


def synthetic_picture(seed: int, size: tuple[int, int] = SIZE) -> bytes:
    """A JPEG of overlapping ellipses, bars and a gradient, the same bytes for the same seed
    on one Pillow build."""
    rng = random.Random(seed)
    width, height = size
    picture = Image.linear_gradient("L").resize(size).convert("RGB")
    tint = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    picture = Image.blend(picture, tint, 0.6)
    draw = ImageDraw.Draw(picture)
    for _ in range(14):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = min(width, x0 + rng.randrange(40, width // 2))
        y1 = min(height, y0 + rng.randrange(40, height // 2))
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return _jpeg(picture)


def mirrored(jpeg: bytes) -> bytes:
    """The same picture flipped left to right and re-encoded: a new SHA-256, the same PDQ
    up to its dihedral variant."""
    with Image.open(io.BytesIO(jpeg)) as picture:
        return _jpeg(ImageOps.mirror(picture.convert("RGB")))


def _jpeg(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=88)
    return out.getvalue()
