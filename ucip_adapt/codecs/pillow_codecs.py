"""Still-image codecs implemented by Pillow's plugins: JPEG, WebP, AVIF and JPEG 2000."""

from __future__ import annotations

import io
from abc import abstractmethod
from typing import Any

import numpy as np
from PIL import Image, features

from ucip_adapt.codecs.base import (
    Codec,
    CodecUnavailableError,
    Level,
    check_rgb_uint8,
    numeric_level,
    package_version,
)


class PillowCodec(Codec):
    """A codec whose encoder and decoder are a Pillow plugin; subclasses give the save options."""

    pillow_format: str
    pillow_feature: str

    def __init__(self) -> None:
        if not features.check(self.pillow_feature):
            raise CodecUnavailableError(
                f"codec {self.name!r} needs Pillow built with {self.pillow_feature} support, which this "
                f"Pillow {package_version('pillow')} lacks. Install the official wheel: pip install -U pillow"
            )

    @abstractmethod
    def save_options(self, level: Level) -> dict[str, Any]:
        """Keyword arguments of `Image.save` for `level` (validated)."""

    def encode(self, rgb: np.ndarray, level: Level) -> bytes:
        options = self.save_options(level)
        buffer = io.BytesIO()
        Image.fromarray(check_rgb_uint8(rgb, self.name)).save(buffer, format=self.pillow_format, **options)
        return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))

    @property
    def implementation(self) -> str:
        return f"Pillow {package_version('pillow')} {self.pillow_feature} {features.version(self.pillow_feature)}"


class JpegCodec(PillowCodec):
    """JPEG (libjpeg-turbo in Pillow), 4:2:0; the level is the quality factor 1..100."""

    name = "jpeg"
    levels = (10, 20, 30, 40)
    block_size = 16
    pillow_format = "JPEG"
    pillow_feature = "jpg"

    def save_options(self, level: Level) -> dict[str, Any]:
        quality = numeric_level(self.name, level, "quality factor", 1, 100)
        return {"quality": quality, "subsampling": "4:2:0"}


class WebpCodec(PillowCodec):
    """Lossy WebP (libwebp in Pillow); the level is the quality 0..100."""

    name = "webp"
    levels = (1, 9, 19, 26)
    block_size = 16
    pillow_format = "WEBP"
    pillow_feature = "webp"

    def save_options(self, level: Level) -> dict[str, Any]:
        return {"quality": numeric_level(self.name, level, "quality", 0, 100), "lossless": False}


class AvifCodec(PillowCodec):
    """AVIF (libavif + aom in Pillow 11.3+), 4:2:0, speed 6; the level is the quality 0..100."""

    name = "avif"
    levels = (8, 24, 32, 38)
    block_size = 8
    pillow_format = "AVIF"
    pillow_feature = "avif"

    def save_options(self, level: Level) -> dict[str, Any]:
        quality = numeric_level(self.name, level, "quality", 0, 100)
        return {"quality": quality, "speed": 6, "subsampling": "4:2:0"}


class Jpeg2000Codec(PillowCodec):
    """JPEG 2000 codestream (OpenJPEG in Pillow) at a fixed compression ratio.

    The level is the ratio of raw RGB bytes to coded bytes (``quality_mode="rates"``), so it fixes
    the size, not the quality. The output is a bare J2K codestream (no JP2 box wrapper).
    """

    name = "jpeg2000"
    levels = (119, 60, 43, 35)
    pillow_format = "JPEG2000"
    pillow_feature = "jpg_2000"

    def save_options(self, level: Level) -> dict[str, Any]:
        rate = numeric_level(self.name, level, "compression ratio", 1, 10_000, integer=False)
        return {"quality_mode": "rates", "quality_layers": [rate], "no_jp2": True}


class CleanCodec(PillowCodec):
    """No compression: the LR as a PNG file, decoded to the same pixels (the ``clean`` task's data).

    Its one level, ``"lossless"``, is the only value it takes; photos that were never compressed
    (PNG, TIFF, BMP) are restored by the task this codec's pairs train.
    """

    name = "clean"
    levels = ("lossless",)
    pillow_format = "PNG"
    pillow_feature = "zlib"

    def save_options(self, level: Level) -> dict[str, Any]:
        if level != "lossless":
            raise ValueError(f"codec {self.name!r}: the only level is 'lossless' (no compression), got {level!r}")
        return {"compress_level": 1}
