"""Images from untrusted bytes, decoded in memory, and their PDQ hashes.

Images are decoded from a ``BytesIO`` and only the formats in ``ALLOWED_IMAGE_FORMATS`` are
tried, because some Pillow plugins (EPS via Ghostscript) would hand untrusted bytes to an
external program through temp files.

PDQ: decode to luminance, downscale so that the longer side is at most 512 px, then the PDQ of
the image and of its 7 rotations and flips in one pass (``pdqhash.compute_dihedral``; the
variants cost ~10 % more than the hash alone and let a bank query find a mirrored or rotated
copy). The downscale is what makes our hashes agree with the reference implementation's within
0-2 bits (tests/unit/test_hashing.py checks it against tests/golden/pdq/).

PDQ only ever looks at luminance (Y = 0.299 R + 0.587 G + 0.114 B), so the image is taken to
8-bit luminance first: Pillow's "L" conversion uses the same weights, and a JPEG, whose Y plane is
that luminance, is decoded without its colour planes at all. Resizing one plane instead of three
halves the CPU per photo, and the golden images agree with the reference as well as the RGB path
did (a rounding to 8 bits before the resize moves no bit of them).
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass

import numpy as np
import pdqhash
from PIL import Image

MAX_IMAGE_PIXELS = 50_000_000
"""Largest image we decode. A 50 Mpx RGB image is 150 MB in memory; anything bigger is far more
likely a decompression bomb than a photo (Telegram re-encodes photos to <= 2560 px a side)."""

# Pillow's own guard is process-wide; set it to the same limit so that any other Pillow use in
# chanwatch is protected too. decode_image does not rely on it: it checks the header itself.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

PDQ_MAX_SIDE = 512

ALLOWED_IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "AVIF")
"""What Telegram and the web serve as images (the JPEG plugin also opens phone cameras' MPO
files). TIFF, PSD, EPS and the other exotic plugins stay off on untrusted input."""

# Image.open raises KeyError for a listed format whose plugin is not registered yet (or not
# built, as AVIF may be), so register all plugins once and keep only the available ones.
Image.init()
_OPEN_FORMATS = tuple(name for name in ALLOWED_IMAGE_FORMATS if name in Image.OPEN)

IMAGE_KINDS = frozenset({"photo", "image", "thumbnail", "video_thumbnail"})
"""Media kinds that get a PDQ hash whatever their MIME type (Telegram photos carry none)."""

# EXIF orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose).
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION_TAG = 0x0112

# What Pillow raises on bytes it cannot make an image of; anything else is our bug -> "error".
UNDECODABLE = (
    OSError,  # includes UnidentifiedImageError and truncated or corrupt data
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


class _TooManyPixels(ValueError):
    """The header announces more pixels than MAX_IMAGE_PIXELS: treated as a bomb."""


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """An image ready for PDQ: upright, 8-bit luminance ("L"), longer side <= PDQ_MAX_SIDE."""

    image: Image.Image
    width: int
    """Upright width of the image as published, before downscaling."""
    height: int


def pdq_hex_from_bits(bits: np.ndarray) -> str:
    """The 64-hex form of pdqhash's 256-element bit vector (most significant bit first)."""
    vector = np.asarray(bits, dtype=np.uint8)
    if vector.shape != (256,):
        raise ValueError(f"a PDQ hash has 256 bits, got shape {vector.shape}")
    return np.packbits(vector).tobytes().hex()


def hamming_distance(hex_a: str, hex_b: str) -> int:
    """Number of differing bits between two PDQ hashes given as 64 hex digits."""
    if len(hex_a) != 64 or len(hex_b) != 64:
        raise ValueError("PDQ hashes are 64 hex digits")
    return (int(hex_a, 16) ^ int(hex_b, 16)).bit_count()


def wants_pdq(kind: str, mime: str | None) -> bool:
    """Whether a medium is a raster image to PDQ-hash (SVG is text, not pixels)."""
    if kind in IMAGE_KINDS:
        return True
    mime = (mime or "").lower()
    return mime.startswith("image/") and mime != "image/svg+xml"


def pdq_size(width: int, height: int) -> tuple[int, int]:
    """The size ``Image.thumbnail((512, 512))`` gives a width x height image.

    Computed from the size as published, not from a DCT-scaled decode: libjpeg rounds a scaled
    size up, and one pixel more on a side moves PDQ bits.
    """
    if width <= PDQ_MAX_SIDE and height <= PDQ_MAX_SIDE:
        return width, height
    aspect = width / height
    if width >= height:
        candidates = (math.floor(PDQ_MAX_SIDE / aspect), math.ceil(PDQ_MAX_SIDE / aspect))
        best = min(candidates, key=lambda n: abs(aspect - PDQ_MAX_SIDE / n) if n else math.inf)
        return PDQ_MAX_SIDE, max(best, 1)
    candidates = (math.floor(PDQ_MAX_SIDE * aspect), math.ceil(PDQ_MAX_SIDE * aspect))
    best = min(candidates, key=lambda n: abs(aspect - n / PDQ_MAX_SIDE))
    return max(best, 1), PDQ_MAX_SIDE


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation, 1 (upright) when absent or unreadable.

    Damaged EXIF blocks are common in the wild and say nothing about the pixels, so they do not
    make an image undecodable.
    """
    try:
        value = img.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except UNDECODABLE:
        return 1
    return value if isinstance(value, int) else 1


def decode_image(data: bytes) -> DecodedImage:
    """Decode untrusted bytes into an upright luminance image, longer side <= PDQ_MAX_SIDE.

    Raises one of the exceptions in ``UNDECODABLE`` when the bytes are not a usable image.

    EXIF orientation is applied: we hash what a viewer sees. Telegram bakes orientation into
    the pixels of photos it re-encodes, browsers honour the tag for web images, and a reviewer
    compares what they see; a bank built from un-rotated pixels is still found by the dihedral
    query (the eight rotations/flips are a group, so one transpose apart is covered).
    """
    # Truncated files raise (Pillow's LOAD_TRUNCATED_IMAGES stays False): an image we could
    # only half decode is reported undecodable rather than given a misleading PDQ.
    with Image.open(io.BytesIO(data), formats=_OPEN_FORMATS) as img:
        width, height = img.size
        # Independent of Pillow's global limit (another library may reset it) and of the
        # warnings filter (Pillow only *warns* between 1x and 2x its limit): over ours is a bomb.
        if width * height > MAX_IMAGE_PIXELS:
            raise _TooManyPixels(f"{width}x{height} exceeds {MAX_IMAGE_PIXELS} pixels")
        orientation = _orientation(img)
        # JPEG only: libjpeg hands over just the Y plane ("L") at the smallest DCT scale
        # (1/2, 1/4, 1/8) that still covers the 512 px target, so a photo never needs its
        # full-size bitmap nor any colour plane in memory, and the resize below has a quarter
        # of the pixels to read. Measured on the golden images: still within 2 bits.
        target = pdq_size(width, height)
        img.draft("L", target)
        # Convert before resizing: Pillow resizes palette images with NEAREST, which would not
        # match the reference.
        luma = img.convert("L")
    if luma.size != target:
        luma = luma.resize(target, Image.Resampling.BICUBIC)
    transpose = _ORIENTATION_TRANSPOSE.get(orientation)
    if transpose is not None:
        luma = luma.transpose(transpose)
        if orientation >= 5:  # the four orientations that swap the axes
            width, height = height, width
    return DecodedImage(image=luma, width=width, height=height)


def _pdq_input(image: Image.Image) -> np.ndarray:
    """The (rows, cols, 3) array pdqhash takes, without copying the luminance three times:
    pdqhash weighs the channels 0.299 + 0.587 + 0.114 = 1, so (Y, Y, Y) hashes as Y."""
    luma = np.asarray(image if image.mode == "L" else image.convert("L"))
    return np.broadcast_to(luma[:, :, None], (*luma.shape, 3))


@dataclass(frozen=True, slots=True)
class Pdq:
    hash: str
    quality: int
    dihedral: tuple[str, ...]
    """The other 7 orientations (rotations by 90, 180, 270 degrees, then the four flips)."""


def pdq_of_image(image: Image.Image) -> Pdq:
    """PDQ of an image prepared by ``decode_image`` (upright, <= 512 px) and of its 7
    rotations and flips, which bank queries use to find a rotated or mirrored copy."""
    hashes, quality = pdqhash.compute_dihedral(_pdq_input(image))
    original, *others = (pdq_hex_from_bits(bits) for bits in hashes)
    return Pdq(original, int(quality), tuple(others))
