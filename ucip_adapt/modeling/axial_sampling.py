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
    return _AxialShift.apply(x, offset, dim, start)


def _taps(x: Tensor, offset: Tensor, dim: int, start: int) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The two neighbours of every sample position: their indices (clamped into the image), whether
    each lies inside the image, and the fraction of the way to the upper one."""
    grid_shape = [1, 1, 1, 1]
    grid_shape[dim] = offset.shape[dim]
    # Positions in at least float32, even under bf16 autocast: bf16 cannot tell pixel 200 from pixel 201.
    dtype = torch.promote_types(offset.dtype, torch.float32)
    position = torch.arange(start, start + offset.shape[dim], device=x.device, dtype=dtype).view(grid_shape) + offset.to(dtype)
    lower = position.floor()
    fraction = (position - lower).to(x.dtype)
    lower_index = lower.long()
    size = x.shape[dim]
    inside_lower = (lower_index >= 0) & (lower_index < size)
    inside_upper = (lower_index >= -1) & (lower_index < size - 1)
    return lower_index.clamp(0, size - 1), (lower_index + 1).clamp(0, size - 1), inside_lower, inside_upper, fraction


class _AxialShift(torch.autograd.Function):
    """The sampling with a hand-written backward: two gathers forward, two scatter-adds and one
    product backward, instead of the dozen elementwise steps (and their gradients) that autograd
    would record for the masks, clamps and weights. Taps outside the image read zero and pass no
    gradient to ``x``."""

    @staticmethod
    def forward(ctx, x: Tensor, offset: Tensor, dim: int, start: int) -> Tensor:
        lower, upper, inside_lower, inside_upper, fraction = _taps(x, offset, dim, start)
        below = x.gather(dim, lower).masked_fill_(~inside_lower, 0)
        above = x.gather(dim, upper).masked_fill_(~inside_upper, 0)
        ctx.save_for_backward(lower, upper, inside_lower, inside_upper, fraction, below, above)
        ctx.dim, ctx.x_shape, ctx.offset_dtype = dim, x.shape, offset.dtype
        return torch.lerp(below, above, fraction)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        lower, upper, inside_lower, inside_upper, fraction, below, above = ctx.saved_tensors
        grad_x = grad_offset = None
        if ctx.needs_input_grad[0]:
            grad_x = grad.new_zeros(ctx.x_shape)
            grad_x.scatter_add_(ctx.dim, lower, (grad - grad * fraction).masked_fill_(~inside_lower, 0))
            grad_x.scatter_add_(ctx.dim, upper, (grad * fraction).masked_fill_(~inside_upper, 0))
        if ctx.needs_input_grad[1]:
            grad_offset = (grad * (above - below)).to(ctx.offset_dtype)
        return grad_x, grad_offset, None, None
