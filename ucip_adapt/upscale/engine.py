"""The inference engine: decoded images in, x4 images out, on any device, in bounded memory.

Images of one size run together as a batch (each sample with its own task; UCIP's statistics are
per sample, so batching changes nothing). A batch or image larger than ``tile_pixels`` LR pixels
runs by row bands (``banded.forward_banded``), which gives the whole-image result in bounded memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..modeling.ucip import UCIP, crop_output, inference_size, pad_for_inference
from ..pixels import images_to_tensor, tensor_to_images
from .banded import Progress, count_steps, forward_banded

DEFAULT_TILE_PIXELS = 256 * 256
"""LR pixels run at once: up to this a batch runs whole, beyond it by bands of this many pixels
(docs/upscale.md measures the time and peak memory per model, size and band)."""

DEFAULT_MAX_BATCH = 8

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def resolve_device(name: str) -> torch.device:
    """``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda"``; ValueError if unavailable."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is visible to PyTorch here; use --device cpu or auto.")
    return torch.device(name)


@dataclass
class Upscaler:
    """Runs ``model`` on RGB uint8 images.

    Attributes:
        model: the backbone, with any prompt packs loaded; moved to ``device`` in eval mode.
        device: where to compute.
        dtype: ``torch.float32``, or ``torch.bfloat16`` to compute matrix products and
            convolutions in bfloat16 under autocast (normalisations stay float32).
        tile_pixels: the LR pixel count above which a batch runs by row bands of that size.
        max_batch: the most images per batch.
    """

    model: UCIP
    device: torch.device = torch.device("cpu")
    dtype: torch.dtype = torch.float32
    tile_pixels: int = DEFAULT_TILE_PIXELS
    max_batch: int = DEFAULT_MAX_BATCH

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES.values():
            raise ValueError(f"dtype must be one of {list(DTYPES.values())}, got {self.dtype}")
        if self.tile_pixels < 1 or self.max_batch < 1:
            raise ValueError(f"tile_pixels and max_batch must be positive, got {self.tile_pixels} and {self.max_batch}")
        self.model = self.model.to(self.device).eval()

    def padded(self, height: int, width: int) -> tuple[int, int]:
        """The LR size an input of this size runs at (see :func:`~ucip_adapt.modeling.ucip.pad_for_inference`)."""
        minimum = self.model.config.min_inference_side
        return inference_size(height, minimum), inference_size(width, minimum)

    def is_tiled(self, height: int, width: int, batch: int = 1) -> bool:
        """Whether a batch of this LR size runs by bands."""
        padded_height, padded_width = self.padded(height, width)
        return batch * padded_height * padded_width > self.tile_pixels

    def steps(self, height: int, width: int, batch: int = 1) -> int:
        """Progress steps :meth:`upscale` reports for a tiled batch of this LR size (0 when whole)."""
        if not self.is_tiled(height, width, batch):
            return 0
        return count_steps(self.model, *self.padded(height, width), batch, self.tile_pixels)

    @torch.inference_mode()
    def upscale(self, images: Sequence[np.ndarray], tasks: Sequence[str | int], progress: Progress | None = None) -> list[np.ndarray]:
        """x4 versions (uint8 ``[4H, 4W, 3]``) of same-size RGB uint8 ``[H, W, 3]`` images, one task each."""
        shapes = {image.shape for image in images}
        if len(shapes) != 1:
            raise ValueError(f"A batch holds images of one size, got {sorted(shapes)}")
        height, width = images[0].shape[:2]
        lr = images_to_tensor(images, self.device)
        routing = self.model.route(self.model.resolve_auto(lr, list(tasks)), len(images))
        padded = pad_for_inference(lr, self.model.config.min_inference_side)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.dtype == torch.bfloat16):
            if self.is_tiled(height, width, len(images)):
                sr = forward_banded(self.model, padded, routing, self.tile_pixels, progress)
            else:
                sr = self.model.forward_routed(padded, routing)
        return tensor_to_images(crop_output(sr, (height, width), self.model.config.scale))


def plan_batches(sizes: Sequence[tuple[int, int] | None], tile_pixels: int, max_batch: int, min_side: int = 1) -> list[list[int]]:
    """Indices of ``sizes`` grouped into batches of equal, known size within ``tile_pixels`` (counted
    at the padded size, at least ``min_side`` a side) and ``max_batch``; unknown sizes and large
    images get a batch of their own. Order: by size."""
    batches: list[list[int]] = []
    by_size: dict[tuple[int, int], list[int]] = {}
    for index, size in enumerate(sizes):
        if size is None:
            batches.append([index])
        else:
            by_size.setdefault(size, []).append(index)
    for (width, height), indices in sorted(by_size.items()):
        per_batch = max(1, min(max_batch, tile_pixels // (inference_size(width, min_side) * inference_size(height, min_side))))
        batches += [indices[i : i + per_batch] for i in range(0, len(indices), per_batch)]
    return batches


