"""Which task serves a codec, and ``task="auto"``: the choice from a picture's pixels alone.

A loaded prompt pack serves the codec it records (``list_prompts()[name]["codec"]``) and wins over
a backbone task of that codec, since loading it was the user's choice. A codec with neither goes to
a related codec's task (HEIC is HEVC in a HEIF container), else to the backbone task that restored
it best on the training photos, measured when the estimator was trained
(``EstimatorConfig.fallback_tasks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import Tensor

if TYPE_CHECKING:
    from ..modeling.ucip import UCIP
    from .estimator import CodecEstimator

AUTO_TASK = "auto"
"""The task name that asks for the estimator's choice."""
RELATED_CODECS: Mapping[str, str] = {"heic": "hevc"}
"""Codec -> the codec whose task serves it when it has none of its own (same coding tool)."""
UNCOMPRESSED_TASK = "clean"
"""The task of pictures no codec made."""


@dataclass(frozen=True)
class Choice:
    """A task and, in a few words, why."""

    task: str
    reason: str


def tasks_by_codec(model: UCIP) -> dict[str, str]:
    """Codec -> the backbone task or loaded pack that serves it; two packs of one codec are an error."""
    by_codec = {name: name for name in model.tasks}
    owner: dict[str, str] = {}
    for name, metadata in model.list_prompts().items():
        codec = str(metadata.get("codec") or name)
        if codec in owner:
            raise ValueError(f"The prompt packs {owner[codec]!r} and {name!r} are both for {codec}; load only one of them.")
        owner[codec] = by_codec[codec] = name
    return by_codec


class AutoRouter:
    """Chooses a task of ``model`` for a picture from ``estimator``'s estimate of its codec."""

    def __init__(self, model: UCIP, estimator: CodecEstimator) -> None:
        self.by_codec = tasks_by_codec(model)
        self.estimator = estimator
        unknown = set(estimator.config.codecs) - set(estimator.config.fallback_tasks) - set(self.by_codec) - set(RELATED_CODECS)
        if unknown:
            raise ValueError(f"The estimator knows codecs this model has no task for and no fallback: {sorted(unknown)}")

    def task_for(self, codec: str) -> tuple[str, str]:
        """The task serving ``codec`` and which rule chose it."""
        if codec in self.by_codec:
            return self.by_codec[codec], "its own task" if self.by_codec[codec] == codec else "its prompt pack"
        if codec in RELATED_CODECS and RELATED_CODECS[codec] in self.by_codec:
            return self.by_codec[RELATED_CODECS[codec]], f"the {RELATED_CODECS[codec]} task, same coding tool"
        fallback = self.estimator.config.fallback_tasks[codec]
        return fallback, "no pack loaded; the seen task best on it in training"

    def choose(self, image: Tensor) -> Choice:
        """The task for one picture ``[3, H, W]`` in [0, 1]."""
        estimate = self.estimator.to(image.device).estimate(image)
        task, rule = self.task_for(estimate.codec)
        return Choice(task, f"estimated {estimate.codec} ({estimate.confidence:.0%}): {rule}")
