"""JPEG XL by libjxl through imagecodecs; the level is the Butteraugli distance (larger = heavier)."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ucip_adapt.codecs.base import (
    Codec,
    CodecUnavailableError,
    Level,
    check_rgb_uint8,
    numeric_level,
    package_version,
    require_module,
)


def _imagecodecs() -> ModuleType:
    return require_module("imagecodecs", "imagecodecs", "jxl")


class JxlCodec(Codec):
    """JPEG XL codestream (VarDCT, libjxl default effort); the level is the distance 0.1..25."""

    name = "jxl"
    levels = (16, 8.5, 6, 5)
    block_size = 8

    def __init__(self) -> None:
        if not _imagecodecs().JPEGXL.available:
            raise CodecUnavailableError(
                "codec 'jxl': this imagecodecs build has no JPEG XL support; install the official wheel: "
                "pip install -U imagecodecs"
            )

    def encode(self, rgb: np.ndarray, level: Level) -> bytes:
        distance = numeric_level(self.name, level, "Butteraugli distance", 0.1, 25, integer=False)
        return bytes(_imagecodecs().jpegxl_encode(check_rgb_uint8(rgb, self.name), distance=distance))

    def decode(self, data: bytes) -> np.ndarray:
        image = _imagecodecs().jpegxl_decode(data)
        if image.ndim == 2:  # a greyscale JPEG XL file from elsewhere
            image = np.repeat(image[:, :, None], 3, axis=2)
        return np.ascontiguousarray(image[:, :, :3])

    @property
    def implementation(self) -> str:
        return f"imagecodecs {package_version('imagecodecs')} {_imagecodecs().jpegxl_version()}"
