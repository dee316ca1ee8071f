"""Random aligned LR/HR crops with the 8 flips/rotations, drawn from an explicit generator.

Randomness never happens at caching time (``datasets.map`` would freeze it); it is drawn here, per
crop, from a ``torch.Generator`` the caller seeds, so training can make its data a pure function
of (seed, step). `RandomPairCrop` (for ``Dataset.with_transform``) gives each DataLoader worker
process its own stream, derived from the seed and the worker's seed (which the DataLoader draws
anew every epoch from the main process's RNG), so workers never repeat each other's crops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import get_worker_info

from ucip_adapt.image_io import read_image


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


class RandomPairCrop:
    """``with_transform`` callable: one random aligned crop (and dihedral transform) per pair.

    Each output item is ``{"lr": 3 x p x p, "hr": 3 x 4p x 4p, "task": str}``, float32 in [0, 1].
    The HR column holds the original image; its top-left ``4 * LR size`` part is the training HR
    (the pipeline's mod-crop keeps the top-left corner).
    """

    def __init__(
        self, patch_size: int, scale: int = 4, *, augment: bool = True, seed: int | torch.Generator | None = None
    ) -> None:
        self.patch_size, self.scale, self.augment = patch_size, scale, augment
        if isinstance(seed, torch.Generator):
            self.generator = seed
        else:
            self.generator = torch.Generator()
            if seed is None:
                self.generator.seed()
            else:
                self.generator.manual_seed(seed)
        self._worker_seed: int | None = None
        self._worker_generator: torch.Generator | None = None

    def current_generator(self) -> torch.Generator:
        """The generator of this process: the given one, or in a DataLoader worker its own stream."""
        worker = get_worker_info()
        if worker is None:
            return self.generator
        if self._worker_seed != worker.seed:  # a new worker process, or a new epoch
            self._worker_seed = worker.seed
            seed = (self.generator.initial_seed() * 1_000_003 + worker.seed) % 2**63
            self._worker_generator = torch.Generator().manual_seed(seed)
        return self._worker_generator

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        generator = self.current_generator()
        out: dict[str, list] = {"lr": [], "hr": [], "task": list(batch["task"])}
        for lr_image, hr_image in zip(batch["lr"], batch["hr"]):
            lr = read_image(lr_image, log_conversions=False)
            hr = read_image(hr_image, log_conversions=False)
            params = aligned_crop_params(lr.shape, self.patch_size, generator)
            if not self.augment:
                params = CropParams(params.top, params.left, params.size, 0)
            lr_crop, hr_crop = apply_crop(lr, hr, params, self.scale)
            out["lr"].append(to_chw_float(lr_crop))
            out["hr"].append(to_chw_float(hr_crop))
        return out


def to_chw_float(image: np.ndarray) -> torch.Tensor:
    """HWC uint8 -> CHW float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
