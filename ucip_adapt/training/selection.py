"""Which training state a run writes: its last EMA weights, or the best it validated.

A short tuning run can end worse than where it started (a pack that loses to the zero-shot task it
was copied from). With ``select="best"`` the loop scores the starting weights (step 0) and the EMA
weights at every evaluation on a validation split, and keeps a copy of the best; the run then
writes that copy, so it can never be worse on the validation split than doing nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from torch import Tensor

SELECTION_RULES = ("best", "last")


@dataclass
class BestState:
    """The highest-scoring weights offered so far, by one validation metric (higher is better).
    Ties keep the earlier state: a later state must beat the start to replace it."""

    metric: str
    step: int = -1
    score: float = -math.inf
    tensors: dict[str, Tensor] = field(default_factory=dict)

    def offer(self, step: int, scores: dict[str, float], tensors: dict[str, Tensor]) -> bool:
        """Keep ``tensors`` (copied) when ``scores[metric]`` beats the best so far; say whether it did."""
        if self.metric not in scores:
            raise KeyError(f"validation returned {sorted(scores)}, not the metric {self.metric!r} that selects the best state")
        if scores[self.metric] <= self.score:
            return False
        self.step, self.score = step, float(scores[self.metric])
        self.tensors = {name: t.detach().clone() for name, t in tensors.items()}
        return True

    def record(self) -> dict[str, float | int | str]:
        """What a checkpoint or a summary keeps of the choice (the tensors are stored separately)."""
        return {"metric": self.metric, "step": self.step, "score": self.score}
