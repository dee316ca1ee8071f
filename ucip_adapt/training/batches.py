"""Training batches as a pure function of (seed, step): exact resume and world-size independence.

Every optimizer step draws one global batch of random aligned LR/HR crops (with one of the 8
flips/rotations each) from a generator seeded by ``(seed, step)``; each process takes its own
slice of it, one micro-batch per gradient-accumulation step. Resuming at step ``s`` therefore
replays nothing and skips nothing, and 1 process x 8 samples computes the same gradient as
2 processes x 4 samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..data.crops import aligned_crop_params, apply_crop
from .pairs import TrainingPair


@dataclass(frozen=True)
class MicroBatch:
    lr: Tensor
    hr: Tensor
    tasks: list[str]


class PatchBatches:
    """Deterministic global batches of ``batch_size`` crops of ``patch_size`` LR pixels."""

    def __init__(self, pairs: Sequence[TrainingPair], *, batch_size: int, patch_size: int, seed: int, scale: int = 4) -> None:
        if not pairs:
            raise ValueError("No training pairs: the data source produced no image at least as large as the crop.")
        self.pairs, self.batch_size, self.patch_size, self.seed, self.scale = pairs, batch_size, patch_size, seed, scale

    def micro_batch(self, step: int, micro_step: int, rank: int, num_micro: int, world_size: int) -> MicroBatch:
        """The slice of step ``step``'s global batch for one accumulation step of one process."""
        parts = num_micro * world_size
        if self.batch_size % parts:
            raise ValueError(
                f"--batch-size {self.batch_size} must be divisible by processes x accumulation steps = {parts}"
            )
        per_part = self.batch_size // parts
        start = (micro_step * world_size + rank) * per_part
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        choices = torch.randint(len(self.pairs), (self.batch_size,), generator=generator).tolist()
        lrs, hrs, tasks = [], [], []
        for i, index in enumerate(choices):
            pair = self.pairs[index]
            params = aligned_crop_params(pair.lr.shape, self.patch_size, generator)  # drawn for every sample: keeps the stream aligned
            if start <= i < start + per_part:
                lr, hr = apply_crop(pair.lr, pair.hr, params, self.scale)
                lrs.append(lr)
                hrs.append(hr)
                tasks.append(pair.task)
        return MicroBatch(_to_tensor(lrs), _to_tensor(hrs), tasks)


def _to_tensor(images: list[np.ndarray]) -> Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0)
