"""Write an upscaled picture: format from the extension, alpha, colour profile and EXIF kept, atomically.

Every output carries ``ucip-adapt`` in its EXIF Software tag, so that ``--overwrite`` can tell an
earlier output (replaced) from a user's own file (never replaced).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import atomic_path
from .reading import InputImage, register_heif_opener

logger = logging.getLogger(__name__)

COMMON_EXTENSIONS = (".png", ".jpg", ".webp", ".tif", ".avif", ".heic", ".bmp")
SOFTWARE_TAG = 0x0131
"""EXIF Software: what wrote the file."""
OUTPUT_MARK = "ucip-adapt"
NO_ALPHA_FORMATS = {"JPEG", "PPM"}
"""Formats whose Pillow writer has no alpha channel: the alpha is dropped with a warning."""


def output_format(path: Path) -> str:
    """Pillow's format name for the extension of ``path``; ValueError if Pillow cannot write it."""
    register_heif_opener()
    extension = path.suffix.lower()
    name = Image.registered_extensions().get(extension)
    if name is None or name not in Image.SAVE:
        raise ValueError(
            f"Cannot write {path}: {extension or 'no extension'} is not an image format Pillow writes; "
            f"use one of {', '.join(COMMON_EXTENSIONS)} (or another extension Pillow knows)."
        )
    return name


def write_output(path: Path, rgb: np.ndarray, alpha: np.ndarray | None, source: InputImage, quality: int) -> None:
    """Save ``rgb`` (uint8 ``[H, W, 3]``) and ``alpha`` to ``path`` as the input was: grey stays grey,
    with its ICC profile and EXIF; ``quality`` applies to lossy formats. Nothing is left half-written."""
    fmt = output_format(path)
    image = Image.fromarray(rgb)
    if source.grey:
        image = image.convert("L")
    if alpha is not None and fmt in NO_ALPHA_FORMATS:
        logger.warning("%s: %s has no alpha channel, so the transparency is dropped; write .png to keep it", path, fmt)
    elif alpha is not None:
        image.putalpha(Image.fromarray(alpha))
    options: dict[str, object] = {"quality": quality}
    if source.icc_profile:
        options["icc_profile"] = source.icc_profile
    exif = Image.Exif()
    if source.exif:
        exif.load(source.exif)
    exif[SOFTWARE_TAG] = OUTPUT_MARK
    options["exif"] = exif.tobytes()
    with atomic_path(path) as tmp:
        image.save(tmp, format=fmt, **options)


def is_earlier_output(path: Path) -> bool:
    """Whether the image at ``path`` was written by ``ucip-adapt upscale`` (its EXIF Software tag says so)."""
    register_heif_opener()
    try:
        with Image.open(path) as image:
            return str(image.getexif().get(SOFTWARE_TAG, "")).startswith(OUTPUT_MARK)
    except (OSError, ValueError):  # unreadable or not an image: certainly not ours
        return False
