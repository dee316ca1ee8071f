"""Read images as RGB uint8 HxWx3 arrays, with one policy for everything that is not 8-bit RGB.

Policy (each conversion is logged as a warning that names the image and what was done):

* greyscale (``L``, ``1``): copied to R, G and B, like Pillow's ``convert("RGB")``;
* palette (``P``, ``PA``): expanded through the palette;
* alpha (``RGBA``, ``LA``, ``PA``, palette transparency): the colour is kept and the alpha is
  dropped by `read_image`, or returned separately by `read_image_with_alpha`;
* 16-bit (``I;16``, 16-bit PNG/TIFF): reduced to 8 bits (grey: value / 257, rounded; RGB: by
  Pillow, which keeps the high byte);
* CMYK, YCbCr, LAB, HSV: converted to RGB by Pillow;
* refused with `UnsupportedImageError`: floating point (``F``) and 32-bit integer images with
  values beyond 16 bits, whose range has no defined mapping to 8 bits.

EXIF orientation is applied, so the array is the image as viewers show it.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps

logger = logging.getLogger(__name__)

ImageSource = Union[str, Path, bytes, Image.Image]

_GREY_16_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La"}
_CONVERTIBLE_MODES = {"CMYK", "YCbCr", "LAB", "HSV"}


class UnsupportedImageError(ValueError):
    """An image that cannot be turned into 8-bit RGB without guessing; the message says why."""


def open_image(source: ImageSource) -> Image.Image:
    """Open a path or encoded bytes lazily (a PIL image is returned as it is)."""
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, bytes):
        return Image.open(io.BytesIO(source))
    return Image.open(source)


def read_image(source: ImageSource, *, log_conversions: bool = True) -> np.ndarray:
    """An image file, bytes or PIL image as RGB uint8 HxWx3 (alpha dropped; see the module policy)."""
    rgb, _alpha = _to_rgb_and_alpha(open_image(source), _describe(source), log_conversions, alpha_wanted=False)
    return rgb


def read_image_with_alpha(source: ImageSource, *, log_conversions: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """RGB uint8 HxWx3 and the alpha channel uint8 HxW, or None when the image has no transparency."""
    return _to_rgb_and_alpha(open_image(source), _describe(source), log_conversions, alpha_wanted=True)


def _describe(source: ImageSource) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    filename = getattr(source, "filename", "")
    return filename or "image"


def _to_rgb_and_alpha(
    image: Image.Image, name: str, log_conversions: bool, alpha_wanted: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    notes: list[str] = []
    if _has_16_bit_samples(image) and image.mode not in _GREY_16_BIT_MODES | {"I"}:
        notes.append(f"16-bit {image.mode} reduced to 8 bits by Pillow (high byte)")
    image = ImageOps.exif_transpose(image)  # loads the pixels, so the 16-bit check comes first
    mode = image.mode
    if mode in _GREY_16_BIT_MODES or mode == "I":
        grey = _grey_16_bit_to_8_bit(image, name)
        image = Image.fromarray(grey, mode="L")
        notes.append(f"16-bit greyscale ({mode}) scaled to 8 bits (value / 257, rounded)")
        mode = "L"
    if mode == "F":
        raise UnsupportedImageError(
            f"{name}: floating-point image (mode F) has no defined 8-bit range; save it as 8-bit or 16-bit RGB"
        )
    if (mode == "P" and "transparency" in image.info) or mode == "PA":
        image = image.convert("RGBA")
        notes.append(f"palette image ({mode}) with transparency expanded to RGBA")
        mode = "RGBA"
    elif mode == "P":
        image = image.convert("RGB")
        notes.append("palette image (P) expanded to RGB")
        mode = "RGB"

    alpha = None
    if mode in _ALPHA_MODES:
        alpha = np.asarray(image.getchannel("A"))
        notes.append(
            f"alpha channel of {mode} returned separately" if alpha_wanted else f"alpha channel of {mode} dropped"
        )
        image = image.convert("LA" if mode in {"LA", "La"} else "RGBA")
        mode = image.mode
    if mode in {"L", "1", "LA"}:
        notes.append(f"greyscale ({mode}) copied to R, G and B")
    elif mode in _CONVERTIBLE_MODES:
        notes.append(f"{mode} converted to RGB by Pillow")
    elif mode not in {"RGB", "RGBA"}:
        raise UnsupportedImageError(f"{name}: image mode {mode!r} is not supported; convert it to 8-bit RGB first")

    rgb = np.asarray(image.convert("RGB"))
    if notes and log_conversions:
        logger.warning("%s is not 8-bit RGB: %s", name, "; ".join(notes))
    return rgb, alpha


def _has_16_bit_samples(image: Image.Image) -> bool:
    """True for files whose samples are 16-bit even where Pillow presents them as 8-bit (RGB PNG)."""
    raw_modes = [tile.args[0] if isinstance(tile.args, tuple) else tile.args for tile in getattr(image, "tile", [])]
    return any(isinstance(raw, str) and ";16" in raw for raw in raw_modes)


def _grey_16_bit_to_8_bit(image: Image.Image, name: str) -> np.ndarray:
    values = np.asarray(image).astype(np.int64)
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise UnsupportedImageError(
            f"{name}: 32-bit integer image (mode {image.mode}) with values in "
            f"[{values.min()}, {values.max()}] beyond 16 bits; rescale it to 8 or 16 bits first"
        )
    return np.round(values / 257.0).astype(np.uint8)
