"""The `Codec` interface every image codec implements, and the errors codecs raise.

A codec turns an RGB uint8 HxWx3 array into the bytes of a file or bitstream at a quality level
and back. Heavy libraries (PyAV, pillow-heif, imagecodecs) are imported when a codec is
created, so that listing codecs costs nothing and a missing library is reported by name.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Union

import numpy as np

Level = Union[int, float, str]


class UnknownCodecError(KeyError):
    """Raised for a codec name that is not registered; the message lists the registered ones."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0])


class MissingCodecLibraryError(ImportError):
    """Raised when the Python package that implements a codec is not installed."""


class CodecUnavailableError(RuntimeError):
    """Raised when a codec needs a program or library feature this machine lacks."""


def require_module(module: str, pip_package: str, codec: str) -> ModuleType:
    """Import `module` for `codec`, or raise `MissingCodecLibraryError` naming the pip package."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingCodecLibraryError(
            f"codec {codec!r} needs the Python package {pip_package!r}, which is not installed "
            f"(import {module!r} failed: {error}). Install it with: pip install {pip_package}"
        ) from error


def package_version(distribution: str) -> str:
    """Installed version of a distribution, or 'not installed' (used in cache keys)."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def check_rgb_uint8(rgb: np.ndarray, codec: str) -> np.ndarray:
    """Return `rgb` as a C-contiguous uint8 HxWx3 array or raise a ValueError saying what is wrong."""
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        described = f"{rgb.dtype} array of shape {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ValueError(
            f"codec {codec!r} encodes RGB uint8 arrays of shape (H, W, 3), got a {described}; "
            "read images with ucip_adapt.image_io.read_image"
        )
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"codec {codec!r} cannot encode an empty image of shape {rgb.shape}")
    return np.ascontiguousarray(rgb)


def numeric_level(codec: str, level: Level, meaning: str, low: float, high: float, integer: bool = True) -> float:
    """Validate a numeric quality level in [low, high] and return it (as int when `integer`)."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        value = float("nan")
    if not low <= value <= high or (integer and value != int(value)):
        kind = "an integer" if integer else "a number"
        raise ValueError(f"codec {codec!r}: level must be {kind} {meaning} in [{low:g}, {high:g}], got {level!r}")
    return int(value) if integer else value


class Codec(ABC):
    """An image codec: `encode(rgb, level) -> bytes` and `decode(bytes) -> rgb`.

    Attributes:
        name: the registry name (``"jpeg"``, ``"hevc"``, ...).
        levels: the four standard levels of ``docs/codecs.md``, heavy -> light, as the values
            `encode` takes. Any other value the codec accepts works too.
        block_size: the pipeline pads an LR image to a multiple of this by edge replication
            before encoding and crops the decoded image back (macroblock / minimum CU size).
    """

    name: str
    levels: tuple[Level, ...]
    block_size: int = 1

    @abstractmethod
    def encode(self, rgb: np.ndarray, level: Level) -> bytes:
        """Compress an RGB uint8 HxWx3 image at `level`; returns the whole file or bitstream."""

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Decode bytes produced by `encode` (or any file of this format) to RGB uint8 HxWx3."""

    def check_encoder(self) -> None:
        """Raise `CodecUnavailableError` if `encode` cannot run on this machine (a program missing),
        so that a run can refuse before any work; codecs whose library imported can always encode."""

    @property
    @abstractmethod
    def implementation(self) -> str:
        """Library and version that encode, e.g. ``"Pillow 13.0.0"``; part of data cache keys."""

    def cache_key(self) -> str:
        """A string that changes whenever this codec's output could change (settings, versions)."""
        return f"{self!r} [{self.implementation}]"

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value!r}" for key, value in sorted(vars(self).items()) if not key.startswith("_"))
        return f"{type(self).__name__}({settings})"
