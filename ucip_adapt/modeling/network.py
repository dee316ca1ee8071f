"""The UCIP x4 network body: stem, prompted stages, body tail and upsampler.

Layout and initialisation follow the authors' release (see ``docs/architecture.md``); parameter
names are this project's own, and ``ucip_adapt.convert`` maps the release's names onto them.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import UCIPConfig
from .anchor import bicubic_upscale
from .block import PromptedBlock, conv_nhwc
from .dynamic_prompt import DynamicPrompt
from .routing import TaskRouting


class PromptedStage(nn.Module):
    """A dynamic prompt, a shared positional conv and a run of prompted blocks, with a residual."""

    def __init__(self, config: UCIPConfig, depth: int) -> None:
        super().__init__()
        dim = config.embed_dim
        self.prompt = DynamicPrompt(dim, config.prompt_dim, config.num_prompts, len(config.tasks))
        self.pos_conv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.blocks = nn.ModuleList(
            PromptedBlock(
                dim,
                config.prompt_dim,
                config.mlp_hidden_dim,
                config.offset_share,
                predicts_offsets=j % config.offset_interval == 0,
            )
            for j in range(depth)
        )

    def forward(self, x: Tensor, routing: TaskRouting) -> Tensor:
        prompt = self.prompt(x, routing)
        prompt_nchw = prompt.permute(0, 3, 1, 2)
        out = x
        offsets: tuple[Tensor, Tensor] | None = None
        for block in self.blocks:
            if block.offsets is not None:
                out = out + conv_nhwc(self.pos_conv, out)
                offsets = block.offsets(out, prompt)
            assert offsets is not None
            out = block(out, prompt, prompt_nchw, offsets)
        return out + x


class Upsampler(nn.Module):
    """x4 by two nearest-neighbour x2 steps, each followed by a 3x3 conv."""

    def __init__(self, dim: int, width: int) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(dim, width, 3, padding=1)
        self.conv_up1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv_up2 = nn.Conv2d(width, width, 3, padding=1)
        self.conv_hr = nn.Conv2d(width, width, 3, padding=1)
        self.conv_out = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type == "cpu" and not torch.is_autocast_enabled("cpu"):
            # The body hands over channels-last features; on a CPU in fp32, oneDNN runs these
            # convolutions' backward about 1.5x faster on contiguous NCHW (its bf16 path without
            # bf16 units is the other way round, and GPUs prefer channels-last).
            x = x.contiguous()
        x = F.leaky_relu(self.conv_in(x), 0.01)
        x = F.leaky_relu(self.conv_up1(F.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        x = F.leaky_relu(self.conv_up2(F.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_out(F.leaky_relu(self.conv_hr(x), 0.2))


class UCIPNetwork(nn.Module):
    """The network alone, run by :meth:`forward_routed` with tasks already resolved."""

    def __init__(self, config: UCIPConfig) -> None:
        super().__init__()
        dim = config.embed_dim
        self.stem = nn.Conv2d(3, dim, 5, padding=2)
        self.stages = nn.ModuleList(PromptedStage(config, depth) for depth in config.depths)
        self.body_norm = nn.LayerNorm(dim)
        self.body_conv = nn.Conv2d(dim, dim, 3, padding=1)
        self.upsampler = Upsampler(dim, config.upsampler_dim)
        self.anchor = config.anchor
        self.apply(init_weights)
        if self.anchor is not None:  # an untrained anchored network outputs its anchor exactly
            nn.init.zeros_(self.upsampler.conv_out.weight)
            nn.init.zeros_(self.upsampler.conv_out.bias)

    def compile_blocks(self, **compile_kwargs: Any) -> None:
        """``torch.compile`` every prompted block and offset predictor in place (regional compilation).

        They hold nearly all of the cost and take only tensors, so one compiled graph serves every
        block, every prompt pack and every mix of tasks in a batch, and parameter names stay as they
        are. Compiling the whole model instead recompiles for each new mix of per-sample tasks (the
        routing is Python data), minutes per mix.
        """
        for stage in self.stages:
            for block in stage.blocks:
                block.compile(**compile_kwargs)
                if block.offsets is not None:
                    block.offsets.compile(**compile_kwargs)

    def forward_routed(self, lr: Tensor, routing: TaskRouting) -> Tensor:
        shallow = conv_nhwc(self.stem, lr.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1))
        body = shallow
        for stage in self.stages:
            body = stage(body, routing)
        body = conv_nhwc(self.body_conv, self.body_norm(body)) + shallow
        return self.add_anchor(lr, self.upsampler(body.permute(0, 3, 1, 2)))

    def add_anchor(self, lr: Tensor, residual: Tensor) -> Tensor:
        """The output: the upsampler's ``residual`` on top of the image-space anchor of ``lr``, if any."""
        if self.anchor is None:
            return residual
        return residual + bicubic_upscale(lr)  # float32 at least, also when the residual is bf16


def init_weights(module: nn.Module) -> None:
    """The release's initialisation (prompt banks draw U[0,1) when they are created)."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        fan_out = kh * kw * module.out_channels // module.groups
        nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
        nn.init.zeros_(module.bias)
