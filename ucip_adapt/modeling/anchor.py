"""The image-space anchor: Pillow's bicubic x4 of the network's own input, in torch.

An anchored network predicts only a residual on top of this upscale, ``output = bicubic(lr) +
body(lr)``; with its last convolution at zero it reproduces bicubic, so training starts from the
baseline instead of from an image the upsampler must first learn to draw. The interpolation is
Pillow's (``Image.resize(..., BICUBIC)``: a = -0.5, taps that fall outside the image dropped and the
rest renormalised, the horizontal pass first and rounded to 8 bits before the vertical one), in
float32, so an untrained anchored model scores what the bicubic baseline of every table scores
(on Kodak24 all but about 0.1 % of output values are equal after rounding, the rest differ by one
level: Pillow's fixed-point coefficients). The anchor carries no gradient: it depends on the input only.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor

BICUBIC_A = -0.5
"""Pillow's bicubic kernel parameter."""
SUPPORT = 2.0
"""The bicubic kernel is non-zero within two input pixels of the sample position."""


def _cubic(x: float) -> float:
    x = abs(x)
    if x < 1:
        return ((BICUBIC_A + 2) * x - (BICUBIC_A + 3)) * x * x + 1
    if x < 2:
        return (((x - 5) * x + 8) * x - 4) * BICUBIC_A
    return 0.0


@lru_cache(maxsize=64)
def _axis_taps(size: int, scale: int) -> tuple[Tensor, Tensor]:
    """Input indices ``[size * scale, 5]`` and weights of each output position along one axis, as
    Pillow's resampler computes them for upscaling (no kernel widening, edge taps renormalised)."""
    taps = int(2 * SUPPORT) + 1
    indices = torch.zeros(size * scale, taps, dtype=torch.long)
    weights = torch.zeros(size * scale, taps, dtype=torch.float64)
    for out in range(size * scale):
        center = (out + 0.5) / scale
        first = max(int(center - SUPPORT + 0.5), 0)
        last = min(int(center + SUPPORT + 0.5), size)
        row = [_cubic(i - center + 0.5) for i in range(first, last)]
        total = sum(row)
        for k, (i, w) in enumerate(zip(range(first, last), row)):
            indices[out, k] = i
            weights[out, k] = w / total
    return indices, weights.float()


def _resample(x: Tensor, dim: int, scale: int) -> Tensor:
    """Upscale ``x`` along ``dim`` by ``scale``: each output is a weighted sum of five gathered inputs."""
    indices, weights = _axis_taps(x.shape[dim], scale)
    indices, weights = indices.to(x.device), weights.to(device=x.device, dtype=x.dtype)
    gathered = x.index_select(dim, indices.flatten())
    shape = list(x.shape)
    shape[dim : dim + 1] = [indices.shape[0], indices.shape[1]]
    weight_shape = [1] * len(shape)
    weight_shape[dim : dim + 2] = list(weights.shape)
    return (gathered.view(shape) * weights.view(weight_shape)).sum(dim=dim + 1)


@torch.no_grad()
def bicubic_upscale(lr: Tensor, scale: int = 4) -> Tensor:
    """Pillow's bicubic x``scale`` of ``[B, C, h, w]`` images in [0, 1], in float32 (also under autocast)."""
    with torch.autocast(lr.device.type, enabled=False):
        rows = _resample(lr.float(), 3, scale).clamp_(0, 1).mul_(255).round_().div_(255)
        return _resample(rows, 2, scale)
