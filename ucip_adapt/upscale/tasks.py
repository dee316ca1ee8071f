"""Which task restores a file: the backbone task or loaded prompt pack of the file's codec.

A pack (``list_prompts()[name]["codec"]``) wins over a backbone task of the same codec, since
loading it was the user's explicit choice. HEIC is HEVC in a HEIF container, so a HEIC file
without a HEIC pack goes to the HEVC task. A file that is no codec's output (PNG, TIFF, BMP) goes
to ``--fallback-task`` if given, else to the backbone's ``clean`` task (trained on never-compressed
LR) when it has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from ..modeling.ucip import UCIP

RELATED_CODECS: Mapping[str, str] = {"heic": "hevc"}
"""Codec -> the codec whose task serves it when it has none of its own (same coding tool)."""
UNCOMPRESSED_TASK = "clean"
"""The task of files no codec made."""


class NoTaskError(ValueError):
    """A file whose codec no loaded task handles, and no ``--task``/``--fallback-task`` given."""


class TaskChooser:
    """Maps each input's detected codec to a task of ``model``.

    Args:
        model: the backbone with its packs loaded.
        task: if given, the task of every file, whatever its codec.
        fallback_task: the task of files whose codec is unknown (PNG, BMP...) or has no task.
    """

    def __init__(self, model: UCIP, task: str | None = None, fallback_task: str | None = None) -> None:
        for given in (task, fallback_task):
            if given is not None:
                model.resolve_task(given)  # KeyError listing the choices
        self.task = task
        self.fallback_task = fallback_task
        self.choices = [*model.tasks, *model.pack_names]
        self.by_codec = _tasks_by_codec(model)

    def choose(self, codec: str | None, format_name: str) -> str:
        """The task for a file of ``codec`` (None: not recognised) in ``format_name``; ``NoTaskError``
        says why there is none and names the choices."""
        if self.task is not None:
            return self.task
        if codec is None and self.fallback_task is None and UNCOMPRESSED_TASK in self.by_codec:
            return self.by_codec[UNCOMPRESSED_TASK]
        found = self.by_codec.get(codec) if codec else None
        if found is None and codec in RELATED_CODECS:
            found = self.by_codec.get(RELATED_CODECS[codec])
        if found is not None:
            return found
        if self.fallback_task is not None:
            return self.fallback_task
        if codec is None:
            reason = f"a {format_name} file is not the output of a codec this model restores"
        else:
            reason = f"no task of this model is for {codec} (load its prompt pack with --prompts)"
        raise NoTaskError(f"{reason}; pass --task or --fallback-task with one of: {', '.join(self.choices)}")


def _tasks_by_codec(model: UCIP) -> dict[str, str]:
    by_codec = {name: name for name in model.tasks}
    owner: dict[str, str] = {}
    for name, metadata in model.list_prompts().items():
        codec = str(metadata.get("codec") or name)
        if codec in owner:
            raise ValueError(f"The prompt packs {owner[codec]!r} and {name!r} are both for {codec}; load only one of them.")
        owner[codec] = by_codec[codec] = name
    return by_codec
