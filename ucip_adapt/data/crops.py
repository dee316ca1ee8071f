"""Random aligned LR/HR crops with the 8 flips/rotations, drawn from an explicit generator.

Randomness never happens at caching time (``datasets.map`` would freeze it); it is drawn here, per
crop, from a ``torch.Generator`` the caller seeds, so training can make its data a pure function
of (seed, step) (see ``training/batches.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class CropParams:
    """Top-left corner of the LR crop, its size, and which of the 8 dihedral transforms to apply."""

    top: int
    left: int
    size: int
    transform: int


def aligned_crop_params(lr_shape: tuple[int, ...], size: int, generator: torch.Generator) -> CropParams:
    """Draw a crop of ``size`` x ``size`` LR pixels inside an LR image of ``lr_shape`` (H, W, ...)."""
    height, width = lr_shape[:2]
    if height < size or width < size:
        raise ValueError(f"LR image {width}x{height} is smaller than the {size}x{size} crop")
    draws = torch.randint(1 << 30, (3,), generator=generator).tolist()
    return CropParams(draws[0] % (height - size + 1), draws[1] % (width - size + 1), size, draws[2] % 8)


def apply_crop(lr: np.ndarray, hr: np.ndarray, params: CropParams, scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Cut the aligned LR/HR crops (HR at ``scale`` times the LR position) and transform both alike."""
    top, left, size = params.top, params.left, params.size
    lr_crop = lr[top : top + size, left : left + size]
    hr_crop = hr[top * scale : (top + size) * scale, left * scale : (left + size) * scale]
    return dihedral(lr_crop, params.transform), dihedral(hr_crop, params.transform)


def dihedral(image: np.ndarray, transform: int) -> np.ndarray:
    """One of the 8 flips/rotations of an HWC image: ``transform`` = 4 * flip + quarter turns."""
    out = np.rot90(image, k=transform % 4, axes=(0, 1))
    if transform >= 4:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)
