"""Which task each sample of a batch uses: a backbone slot (int) or a prompt pack (name)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TaskRouting:
    """Resolved per-sample tasks of one batch.

    ``tasks[b]`` is an ``int`` for a backbone task slot and a ``str`` for a loaded prompt pack.
    """

    tasks: tuple[int | str, ...]

    @property
    def is_uniform(self) -> bool:
        return len(set(self.tasks)) == 1

    def groups(self, device: torch.device) -> list[tuple[int | str, torch.Tensor]]:
        """``(task, sample indices)`` for every distinct task, in order of first appearance."""
        order: dict[int | str, list[int]] = {}
        for i, task in enumerate(self.tasks):
            order.setdefault(task, []).append(i)
        return [(task, torch.tensor(idx, device=device)) for task, idx in order.items()]
