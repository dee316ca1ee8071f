"""Per-channel sub-pixel shifts along one image axis, the sampling step of UCIP's token mixer.

The authors express it as a 1x1 deformable convolution with one offset group per channel
(torchvision's ``deform_conv2d``). Because the shift moves along a single axis, the bilinear
sampling degenerates to linear interpolation between two neighbours, which two ``gather`` calls
compute exactly (same zero padding outside the image), with no torchvision dependency and a
cheap backward pass.
"""

from __future__ import annotations

import torch
from torch import Tensor


def axial_shift_sample(x: Tensor, offset: Tensor, dim: int, start: int = 0) -> Tensor:
    """Sample ``x`` at ``position + offset`` along ``dim``, linearly interpolated, zero outside.

    Args:
        x: features ``[B, H, W, C]`` (channels last).
        offset: per-pixel, per-channel shifts in pixels, shaped like ``x`` or, along ``dim``, covering
            only positions ``start .. start + offset.shape[dim]`` (a band of output rows sampled
            from the whole of ``x``, as tiled inference does); any real value.
        dim: 1 to shift along the height (vertical), 2 along the width (horizontal).
        start: the position of the first output along ``dim``.

    Returns:
        Tensor shaped like ``offset``; differentiable with respect to ``x`` and ``offset``.
    """
    grid_shape = [1, 1, 1, 1]
    grid_shape[dim] = offset.shape[dim]
    # Positions in at least float32, even under bf16 autocast: bf16 cannot tell pixel 200 from pixel 201.
    dtype = torch.promote_types(offset.dtype, torch.float32)
    position = torch.arange(start, start + offset.shape[dim], device=x.device, dtype=dtype).view(grid_shape) + offset.to(dtype)
    lower = position.floor()
    upper_weight = position - lower
    lower_index = lower.long()
    return _tap(x, lower_index, 1.0 - upper_weight, dim) + _tap(x, lower_index + 1, upper_weight, dim)


def _tap(x: Tensor, index: Tensor, weight: Tensor, dim: int) -> Tensor:
    """``x`` gathered at ``index`` along ``dim`` times ``weight``; taps outside the image count zero."""
    size = x.shape[dim]
    inside = (index >= 0) & (index < size)
    values = x.gather(dim, index.clamp(0, size - 1))
    return values * torch.where(inside, weight, torch.zeros_like(weight)).to(x.dtype)
