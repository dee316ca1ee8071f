"""One prompted token-mixing block of UCIP and its parts.

All tensors inside a stage are channels-last ``[B, H, W, C]`` so that every Linear is a plain
matrix product; convolutions see the same memory as an NCHW tensor in ``channels_last`` format.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .axial_sampling import axial_shift_sample


def conv_nhwc(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """Apply a 2-D convolution to a channels-last ``[B, H, W, C]`` tensor without copying it."""
    return conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def conv_nhwc_rows(conv: nn.Conv2d, x: Tensor, rows: slice) -> Tensor:
    """``conv_nhwc(conv, x)[:, rows]``, computed from only the input rows it depends on.

    The conv must keep the size (stride 1, padding = kernel // 2): its padding rows are the halo.
    """
    halo = conv.padding[0]
    start, stop = max(rows.start - halo, 0), min(rows.stop + halo, x.shape[1])
    return conv_nhwc(conv, x[:, start:stop])[:, rows.start - start : rows.stop - start]


class OffsetPredictor(nn.Module):
    """Sampling offsets from the features and the prompt: LayerNorm(concat) -> Linear.

    Each predicted value serves ``share`` adjacent channels; the first C of the expanded values are
    horizontal shifts, the last C vertical ones, in LR pixels and unbounded.
    """

    def __init__(self, dim: int, prompt_dim: int, share: int) -> None:
        super().__init__()
        self.share = share
        self.norm = nn.LayerNorm(dim + prompt_dim)
        self.proj = nn.Linear(dim + prompt_dim, 2 * dim // share)

    def forward(self, x: Tensor, prompt: Tensor) -> tuple[Tensor, Tensor]:
        raw = self.proj(self.norm(torch.cat([x, prompt], dim=-1)))
        offsets = raw.repeat_interleave(self.share, dim=-1)
        return offsets.chunk(2, dim=-1)


class FusionWeights(nn.Module):
    """Per-channel softmax weights over the three mixer branches, from their spatial mean."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, dim // 4)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(dim // 4, 3 * dim)

    def forward(self, summary: Tensor) -> Tensor:
        """``[B, C]`` -> ``[B, 1, 1, C, 3]``; logit of channel c, branch k sits at index 3c + k."""
        logits = self.fc2(self.act(self.fc1(summary)))
        return logits.view(summary.shape[0], 1, 1, -1, 3).softmax(dim=-1)


class AxialDeformableMixer(nn.Module):
    """Token mixer: horizontal and vertical deformable sampling plus a local depthwise branch."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mix_x = nn.Linear(dim, dim)
        self.mix_y = nn.Linear(dim, dim)
        self.local = nn.Conv2d(dim, dim, 5, padding=2, groups=dim)
        self.fusion = FusionWeights(dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, offset_x: Tensor, offset_y: Tensor) -> Tensor:
        branches = self.branches(x, offset_x, offset_y)
        return self.fuse(branches, self.fusion(sum(branches).mean(dim=(1, 2))))

    def branches(self, x: Tensor, offset_x: Tensor, offset_y: Tensor, top: int = 0) -> tuple[Tensor, Tensor, Tensor]:
        """The horizontal, vertical and local branches of the output rows ``top .. top + len(offsets)``.

        ``x`` is always the whole (normalised) image, the offsets are those rows' own; tiled
        inference computes a band of rows at a time this way.
        """
        rows = slice(top, top + offset_x.shape[1])
        horizontal = self.mix_x(axial_shift_sample(x[:, rows], offset_x, dim=2))
        vertical = self.mix_y(axial_shift_sample(x, offset_y, dim=1, start=top))
        local = conv_nhwc_rows(self.local, x, rows)
        return horizontal, vertical, local

    def fuse(self, branches: tuple[Tensor, Tensor, Tensor], weights: Tensor) -> Tensor:
        """Weighted sum of the branches with the fusion ``weights`` of the whole image, projected."""
        horizontal, vertical, local = branches
        mixed = horizontal * weights[..., 0] + vertical * weights[..., 1] + local * weights[..., 2]
        return self.proj(mixed)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class PromptSPADE(nn.Module):
    """Prompt-conditioned renormalisation: IN(x) * (1 + gamma(P)) + beta(P), replacing x."""

    def __init__(self, dim: int, prompt_dim: int) -> None:
        super().__init__()
        hidden = prompt_dim // 2
        self.shared = nn.Conv2d(prompt_dim, hidden, 3, padding=1)
        self.gamma = nn.Conv2d(hidden, dim, 3, padding=1)
        self.beta = nn.Conv2d(hidden, dim, 3, padding=1)

    def forward(self, x: Tensor, prompt_nchw: Tensor, stats: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """``stats``: the instance-norm ``(variance, mean)`` ``[B, 1, 1, C]`` of the whole image, when
        ``x`` is only a band of its rows (tiled inference); by default they come from ``x``."""
        hidden = F.relu(self.shared(prompt_nchw))
        gamma = self.gamma(hidden).permute(0, 2, 3, 1)
        beta = self.beta(hidden).permute(0, 2, 3, 1)
        var, mean = torch.var_mean(x, dim=(1, 2), keepdim=True, correction=0) if stats is None else stats
        normalized = (x - mean) * torch.rsqrt(var + 1e-5)
        return torch.addcmul(beta, normalized, 1 + gamma)


class PromptedBlock(nn.Module):
    """Token mixing, MLP and SPADE, all steered by the stage's prompt.

    Blocks that start an offset interval own an ``offsets`` predictor; the others reuse the
    offsets of the block before them.
    """

    def __init__(self, dim: int, prompt_dim: int, mlp_hidden_dim: int, offset_share: int, predicts_offsets: bool) -> None:
        super().__init__()
        self.offsets = OffsetPredictor(dim, prompt_dim, offset_share) if predicts_offsets else None
        self.norm1 = nn.LayerNorm(dim)
        self.mixer = AxialDeformableMixer(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_hidden_dim)
        self.spade = PromptSPADE(dim, prompt_dim)

    def forward(self, x: Tensor, prompt: Tensor, prompt_nchw: Tensor, offsets: tuple[Tensor, Tensor]) -> Tensor:
        x = x + self.mixer(self.norm1(x), *offsets)
        x = x + self.mlp(self.norm2(x))
        return self.spade(x, prompt_nchw)
