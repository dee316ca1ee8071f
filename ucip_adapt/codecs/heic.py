"""HEIC (HEVC in a HEIF container) by libheif + x265 through pillow-heif.

The same coding tool as the ``hevc`` codec behind another container and colour path (libheif's
own RGB -> YCbCr), which makes it a "same codec, other implementation" test. The level is the x265
QP, coded exactly as in ``hevc`` (same x265 rate-control parameters).
"""

from __future__ import annotations

import io
from types import ModuleType

import numpy as np

from ucip_adapt.codecs.base import Codec, Level, check_rgb_uint8, numeric_level, package_version, require_module

_EXACT_QP_PARAMS = {"ipratio": "1", "pbratio": "1", "aq-mode": "0", "psy-rd": "0", "psy-rdoq": "0"}


def _pillow_heif() -> ModuleType:
    return require_module("pillow_heif", "pillow-heif", "heic")


class HeicCodec(Codec):
    """HEIC still image, 4:2:0; the level is the x265 QP 0..51."""

    name = "heic"
    levels = (47, 42, 37, 32)
    block_size = 8

    def __init__(self) -> None:
        _pillow_heif()

    def encode(self, rgb: np.ndarray, level: Level) -> bytes:
        qp = numeric_level(self.name, level, "x265 QP", 0, 51)
        rgb = check_rgb_uint8(rgb, self.name)
        heif = _pillow_heif().from_bytes("RGB", (rgb.shape[1], rgb.shape[0]), rgb.tobytes())
        x265_params = {f"x265:{key}": value for key, value in {"qp": str(qp), **_EXACT_QP_PARAMS}.items()}
        buffer = io.BytesIO()
        heif.save(buffer, chroma=420, enc_params=x265_params)
        return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        return np.asarray(_pillow_heif().open_heif(io.BytesIO(data)).to_pillow().convert("RGB"))

    @property
    def implementation(self) -> str:
        libheif = _pillow_heif().libheif_info()
        return f"pillow-heif {package_version('pillow-heif')} libheif {libheif['libheif']} {libheif['HEIF']}"
