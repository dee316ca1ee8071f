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

import torch
from torch import Tensor

from ..data.crops import aligned_crop_params, apply_crop
from ..pixels import images_to_tensor
from .pairs import ImagePair


@dataclass(frozen=True)
class MicroBatch:
    lr: Tensor
    hr: Tensor
    tasks: list[str]


class PatchBatches:
    """Deterministic global batches of ``batch_size`` crops of LR pixels.

    With several ``patch_sizes`` the steps take turns (step ``s`` crops ``patch_sizes[s % n]``), each
    step drawing only from the pairs large enough for its size: larger crops show the network
    statistics closer to a whole photo's, smaller ones keep every photo of the pool in play.
    Each sample draws its task first, uniformly, then a pair of that task, so that every task
    trains equally often whatever its number of levels (``clean`` has one, a codec four).
    """

    def __init__(self, pairs: Sequence[ImagePair], *, batch_size: int, patch_sizes: Sequence[int], seed: int, scale: int = 4) -> None:
        if not pairs:
            raise ValueError("No training pairs: the data source produced no image at least as large as the crop.")
        self.batch_size, self.patch_sizes, self.seed, self.scale = batch_size, list(patch_sizes), seed, scale
        self.pairs_by_size: dict[int, list[list[ImagePair]]] = {}
        for size in self.patch_sizes:
            eligible = [pair for pair in pairs if min(pair.lr.shape[:2]) >= size]
            if not eligible:
                raise ValueError(f"No training pair has an LR image of at least {size}x{size} pixels: "
                                 f"drop {size} from --patch-size or add larger photos.")
            tasks = sorted({pair.task for pair in eligible})
            self.pairs_by_size[size] = [[pair for pair in eligible if pair.task == task] for task in tasks]

    def micro_batch(self, step: int, micro_step: int, rank: int, num_micro: int, world_size: int) -> MicroBatch:
        """The slice of step ``step``'s global batch for one accumulation step of one process."""
        parts = num_micro * world_size
        if self.batch_size % parts:
            raise ValueError(
                f"--batch-size {self.batch_size} must be divisible by processes x accumulation steps = {parts}"
            )
        per_part = self.batch_size // parts
        start = (micro_step * world_size + rank) * per_part
        size = self.patch_sizes[step % len(self.patch_sizes)]
        pairs_by_task = self.pairs_by_size[size]
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        task_choices = torch.randint(len(pairs_by_task), (self.batch_size,), generator=generator).tolist()
        lrs, hrs, tasks = [], [], []
        for i, task_index in enumerate(task_choices):
            same_task = pairs_by_task[task_index]
            pair = same_task[int(torch.randint(len(same_task), (1,), generator=generator))]
            params = aligned_crop_params(pair.lr.shape, size, generator)  # drawn for every sample: keeps the stream aligned
            if start <= i < start + per_part:
                lr, hr = apply_crop(pair.lr, pair.hr, params, self.scale)
                lrs.append(lr)
                hrs.append(hr)
                tasks.append(pair.task)
        return MicroBatch(images_to_tensor(lrs), images_to_tensor(hrs), tasks)
