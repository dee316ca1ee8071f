"""Exact UCIP inference on large images with bounded memory: the network evaluated in row bands.

Why not plain overlapping tiles: every block's SPADE normalises with the instance statistics of the
whole image, every token mixer weighs its branches by their whole-image mean, and the vertical
deformable sampling reaches any row (its offsets are unbounded). A tile sees none of that, so
tile-by-tile inference changes the result everywhere, not only at seams.

What is done instead: the body runs at LR resolution on the whole image, but every step whose
working memory is large (the mixer's sampling and branches, the MLP with its 4C hidden layer, the
offset predictor, SPADE's prompt convolutions) is evaluated a band of rows at a time, and the
whole-image quantities are gathered first: the fusion mean in a first pass over the bands, the
instance-norm statistics from the block's finished output. The full-size tensors kept are a few
C-channel maps at LR resolution. The x4 upsampler is purely convolutional with a small receptive
field, so it runs band by band with a halo of ``UPSAMPLER_HALO`` LR rows; its 64-channel maps at
output resolution, the largest tensors of the network, never exist whole.

The result equals the whole-image forward up to float rounding (the band sums of the means and the
convolutions on slices round differently, ~1e-6). Every operation is the model's own module; the
sequence of steps mirrors ``PromptedStage``/``PromptedBlock``/``UCIPNetwork.forward_routed``, and
``tests/test_upscale_engine.py`` checks the equality so that any change of the network shows.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..modeling.block import PromptedBlock, conv_nhwc, conv_nhwc_rows
from ..modeling.network import PromptedStage, UCIPNetwork
from ..modeling.routing import TaskRouting

UPSAMPLER_HALO = 3
"""LR rows each side of a band that the upsampler's output depends on: its 3x3 convs reach 1 LR
pixel (conv_in), 1/2 (the conv after the first x2) and 3 x 1/4 (the three convs at x4): 2.25 in all."""

SPADE_HALO = 2
"""Prompt rows each side a band of SPADE needs: two stacked 3x3 convolutions."""

Progress = Callable[[int], None]


def row_bands(height: int, row_pixels: int, band_pixels: int) -> list[slice]:
    """Consecutive row ranges covering ``height`` rows, each at most ``band_pixels`` pixels (at least one row)."""
    rows = max(1, band_pixels // max(1, row_pixels))
    return [slice(top, min(top + rows, height)) for top in range(0, height, rows)]


def count_steps(net: UCIPNetwork, lr_height: int, lr_width: int, batch: int, band_pixels: int) -> int:
    """How many times :func:`forward_banded` reports progress for this input: one per block, one per upsampler band."""
    blocks = sum(len(stage.blocks) for stage in net.stages)
    return blocks + len(row_bands(lr_height, batch * lr_width, band_pixels))


def forward_banded(
    net: UCIPNetwork, lr: Tensor, routing: TaskRouting, band_pixels: int, progress: Progress | None = None
) -> Tensor:
    """The raw network output of ``net.forward_routed(lr, routing)``, computed by row bands.

    Args:
        net: the network (a :class:`~ucip_adapt.UCIP`).
        lr: LR images ``[B, 3, h, w]``, already padded as inference pads them.
        routing: the resolved task of every sample.
        band_pixels: LR pixels per band (summed over the batch), in the body and in the upsampler
            (whose band is then 16 times larger at output resolution). Smaller bands use less
            memory and cost a little more (halo rows, loop overhead).
        progress: called with 1 after every block and every upsampler band.
    """
    tick = progress or (lambda _n: None)
    batch, _, height, width = lr.shape
    bands = row_bands(height, batch * width, band_pixels)
    shallow = conv_nhwc(net.stem, lr.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1))
    body = shallow
    for stage in net.stages:
        body = _stage(stage, body, routing, bands, tick)
    normalised = net.body_norm(body)
    del body
    features = torch.empty_like(shallow)
    for rows in bands:
        features[:, rows] = conv_nhwc_rows(net.body_conv, normalised, rows) + shallow[:, rows]
    del normalised, shallow
    return net.add_anchor(lr, _upsample(net, features.permute(0, 3, 1, 2), band_pixels, tick))


def _stage(stage: PromptedStage, x: Tensor, routing: TaskRouting, bands: list[slice], tick: Progress) -> Tensor:
    """``PromptedStage.forward`` by bands; returns a new tensor (``x`` is kept for the residual)."""
    prompt = stage.prompt(x, routing)
    prompt_nchw = prompt.permute(0, 3, 1, 2)
    out = x
    offsets: tuple[Tensor, Tensor] | None = None
    for block in stage.blocks:
        if block.offsets is not None:
            shifted = torch.empty_like(out)
            offsets = (torch.empty_like(out), torch.empty_like(out))
            for rows in bands:
                shifted[:, rows] = out[:, rows] + conv_nhwc_rows(stage.pos_conv, out, rows)
                offsets[0][:, rows], offsets[1][:, rows] = block.offsets(shifted[:, rows], prompt[:, rows])
            out = shifted  # a fresh tensor, never the stage input: _block may update it in place
        assert offsets is not None
        _block(block, out, prompt_nchw, offsets, bands)
        tick(1)
    return out.add_(x)


def _block(block: PromptedBlock, x: Tensor, prompt_nchw: Tensor, offsets: tuple[Tensor, Tensor], bands: list[slice]) -> None:
    """``PromptedBlock.forward`` by bands, updating ``x`` in place (each band only reads its own rows
    of ``x``; the mixer reads every row, but of ``norm1(x)``, computed beforehand)."""
    mixer = block.mixer
    normalised = block.norm1(x)
    offset_x, offset_y = offsets
    branch_sum = sum(
        sum(mixer.branches(normalised, offset_x[:, rows], offset_y[:, rows], top=rows.start)).sum(dim=(1, 2)) for rows in bands
    )
    weights = mixer.fusion(branch_sum / (x.shape[1] * x.shape[2]))
    for rows in bands:
        band = x[:, rows] + mixer.fuse(mixer.branches(normalised, offset_x[:, rows], offset_y[:, rows], top=rows.start), weights)
        x[:, rows] = band + block.mlp(block.norm2(band))
    del normalised
    stats = torch.var_mean(x, dim=(1, 2), keepdim=True, correction=0)
    for rows in bands:
        # SPADE is pointwise in x and needs SPADE_HALO rows of the prompt around the band; the halo
        # rows of x it is handed may already be renormalised, but they only reach the cropped rows.
        start, stop = max(rows.start - SPADE_HALO, 0), min(rows.stop + SPADE_HALO, x.shape[1])
        renormalised = block.spade(x[:, start:stop], prompt_nchw[:, :, start:stop], stats)
        x[:, rows] = renormalised[:, rows.start - start : rows.stop - start]


def _upsample(net: UCIPNetwork, features: Tensor, band_pixels: int, tick: Progress) -> Tensor:
    """``net.upsampler(features)`` band by band, each band widened by ``UPSAMPLER_HALO`` LR rows."""
    scale = net.config.scale
    batch, _, height, width = features.shape
    out: Tensor | None = None
    for rows in row_bands(height, batch * width, band_pixels):
        start, stop = max(rows.start - UPSAMPLER_HALO, 0), min(rows.stop + UPSAMPLER_HALO, height)
        band = net.upsampler(features[:, :, start:stop])
        if out is None:
            out = band.new_empty(batch, band.shape[1], height * scale, width * scale)
        out[:, :, rows.start * scale : rows.stop * scale] = band[:, :, (rows.start - start) * scale : (rows.stop - start) * scale]
        tick(1)
    assert out is not None
    return out
