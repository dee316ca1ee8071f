"""Read an input file for upscaling: its pixels, alpha, colour profile, EXIF and codec.

The codec comes from the file's bytes (``ucip_adapt.codecs.detect_codec``), never from its name.
Pixels follow the policy of ``ucip_adapt.image_io`` (grey, palette, 16-bit and alpha handling,
EXIF orientation applied). Files Pillow cannot open but a registered codec can decode (JPEG XL,
raw HEVC/VVC/H.264 bitstreams) are decoded by that codec.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..codecs import detect_codec, get_codec
from ..image_io import UnsupportedImageError, read_image_with_alpha

EXIF_ORIENTATION = 0x0112

GREY_BANDS = {"L", "I", "1"}
"""First band names of Pillow's greyscale modes (L, LA, I, I;16, 1)."""


@dataclass
class InputImage:
    """One decoded input.

    Attributes:
        rgb: the picture as viewers show it (EXIF orientation applied), uint8 ``[H, W, 3]``.
        alpha: its alpha channel, uint8 ``[H, W]``, or None when it has no transparency.
        codec: the codec that compressed the file (``"jpeg"``, ``"avif"``, ...), or None (PNG, BMP...).
        format_name: what the file is, for messages (Pillow's format name or the codec's).
        grey: stored as greyscale, so written back as greyscale.
        icc_profile: the embedded colour profile, kept in the output.
        exif: the EXIF block without its orientation tag (the pixels are already upright).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    codec: str | None
    format_name: str
    grey: bool = False
    icc_profile: bytes | None = None
    exif: bytes | None = None


@cache
def register_heif_opener() -> None:
    """Let Pillow open HEIC/HEIF files (pillow-heif's plugin); done once."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def read_input(path: Path) -> InputImage:
    """Decode ``path``; raises ``UnsupportedImageError`` (a ValueError) for what nothing can read."""
    data = path.read_bytes()
    codec = detect_codec(data)
    register_heif_opener()
    try:
        image = Image.open(path)
    except UnidentifiedImageError:
        if codec is None:
            raise UnsupportedImageError(f"{path}: not an image file that Pillow or a codec of ucip_adapt.codecs can read") from None
        return InputImage(rgb=get_codec(codec).decode(data), alpha=None, codec=codec, format_name=codec)
    with image:
        grey = image.getbands()[0] in GREY_BANDS
        rgb, alpha = read_image_with_alpha(image)  # loads the pixels, which completes image.info
        return InputImage(
            rgb=rgb,
            alpha=alpha,
            codec=codec,
            format_name=image.format or codec or "image",
            grey=grey,
            icc_profile=image.info.get("icc_profile") or None,
            exif=_exif_without_orientation(image),
        )


def peek_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` from the file header without decoding it, or None if Pillow cannot tell.

    Used only to put files of one size into one batch; the decoded size is what counts.
    """
    register_heif_opener()
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def _exif_without_orientation(image: Image.Image) -> bytes | None:
    exif = image.getexif()
    exif.pop(EXIF_ORIENTATION, None)
    return exif.tobytes() if len(exif) else None
