"""Whole-image evaluation on held-out pairs: PSNR-Y / SSIM-Y of the model and of bicubic.

Images are split across processes and the per-image numbers gathered with
``gather_for_metrics``, so evaluation scales with ``accelerate launch`` like training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from accelerate import Accelerator
from PIL import Image

from ..metrics import psnr_y, ssim_y
from ..pixels import images_to_tensor, tensor_to_images
from .pairs import ImagePair


@dataclass(frozen=True)
class ImageScore:
    index: int
    psnr_y: float
    ssim_y: float


def bicubic_upscale(lr: np.ndarray, scale: int = 4) -> np.ndarray:
    """The baseline: Pillow bicubic x``scale`` of an RGB uint8 image."""
    height, width = lr.shape[:2]
    return np.asarray(Image.fromarray(lr).resize((width * scale, height * scale), Image.BICUBIC))


def model_upscale(model: torch.nn.Module, lr: np.ndarray, task: str | int, device: torch.device) -> np.ndarray:
    """The model's x4 output of one uint8 image, rounded to uint8 as the metric convention wants."""
    return tensor_to_images(_unwrap(model).upscale(images_to_tensor([lr], device), task=task))[0]


def score_pairs(
    pairs: Sequence[ImagePair], model: torch.nn.Module | None = None, task: str | int | None = None,
    accelerator: Accelerator | None = None,
) -> list[ImageScore]:
    """PSNR-Y / SSIM-Y of every pair: bicubic when ``model`` is None, else the model run with
    ``task`` (a name or slot; None: each pair's own task).

    With an ``accelerator``, each process scores its share and all processes get every score.
    """
    rank = accelerator.process_index if accelerator else 0
    world = accelerator.num_processes if accelerator else 1
    device = accelerator.device if accelerator else _device_of(model)
    rows = []
    for index in range(rank, len(pairs), world):
        pair = pairs[index]
        if model is None:
            sr = bicubic_upscale(pair.lr)
        else:
            sr = model_upscale(model, pair.lr, pair.task if task is None else task, device)
        rows.append([index, psnr_y(sr, pair.hr), ssim_y(sr, pair.hr)])
    if accelerator is not None and world > 1:
        rows = accelerator.gather_for_metrics(rows, use_gather_object=True)
    return [ImageScore(int(i), p, s) for i, p, s in sorted(rows, key=lambda row: row[0])]


def mean_psnr(scores: Sequence[ImageScore]) -> float:
    return float(np.mean([s.psnr_y for s in scores]))


def _device_of(model: torch.nn.Module | None) -> torch.device:
    """Where ``model``'s weights live (the CPU for bicubic, which has none)."""
    return next(model.parameters()).device if model is not None else torch.device("cpu")


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The UCIP model inside DDP / PEFT wrappers (``upscale`` lives on it)."""
    while not hasattr(model, "upscale"):
        model = model.module if hasattr(model, "module") else model.get_base_model()
    return model
