"""Exponential moving average of the trainable weights (the release evaluates the EMA copy)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn


class EMA:
    """Shadow copies of ``named`` parameters, updated after every optimizer step.

    The effective decay warms up as ``min(decay, (1 + n) / (10 + n))`` so that short runs (a
    prompt pack tuned in a few hundred steps) are not dominated by the initial weights.
    """

    def __init__(self, named: Iterable[tuple[str, nn.Parameter]], decay: float = 0.999) -> None:
        self.decay = decay
        self.params = dict(named)
        self.shadow = {name: p.detach().clone().float() for name, p in self.params.items()}
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, p in self.params.items():
            self.shadow[name].lerp_(p.detach().float(), 1.0 - decay)

    def copy_to_params(self) -> dict[str, Tensor]:
        """Put the EMA weights into the live parameters; return the replaced values (to restore)."""
        return swap_in(self.params, self.shadow)

    def restore(self, backup: dict[str, Tensor]) -> None:
        swap_in(self.params, backup)


@torch.no_grad()
def swap_in(params: dict[str, nn.Parameter], weights: dict[str, Tensor]) -> dict[str, Tensor]:
    """Copy ``weights`` into the parameters of the same names; return the values they replaced."""
    backup = {name: p.detach().clone() for name, p in params.items()}
    for name, p in params.items():
        p.copy_(weights[name].to(p.dtype))
    return backup
