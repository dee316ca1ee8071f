"""Which task restores a file: the backbone task or loaded prompt pack of the codec its bytes show,
or, where the file does not say (PNG, TIFF, BMP...) or on request (``--task auto``), the codec the
estimator reads from its pixels (:mod:`ucip_adapt.blind`).

Rules, first match: ``--task``; a file no codec made goes to ``--fallback-task`` if given, else to
the estimator's choice, else (a backbone without an estimator) to the ``clean`` task; a codec goes
to its pack or task, then to a related codec's task (HEIC -> HEVC), then to ``--fallback-task``,
then to the seen task that restored it best in the estimator's training (``fallback_tasks``).
"""

from __future__ import annotations

import numpy as np

from ..blind.estimator import CodecEstimator
from ..blind.routing import AUTO_TASK, RELATED_CODECS, UNCOMPRESSED_TASK, AutoRouter, Choice, tasks_by_codec
from ..modeling.ucip import UCIP
from ..pixels import images_to_tensor


class NoTaskError(ValueError):
    """A file whose codec no loaded task handles, and no ``--task``/``--fallback-task`` given."""


class TaskChooser:
    """Maps each input to a task of ``model``, saying why.

    Args:
        model: the backbone with its packs loaded.
        task: if given, the task of every file, whatever its codec (``"auto"``: the estimator's).
        fallback_task: the task of files whose codec is unknown (PNG, BMP...) or has no task.
        estimator: reads the codec from the pixels; without one, ``"auto"`` is refused and files no
            codec made go to the ``clean`` task.
    """

    def __init__(self, model: UCIP, task: str | None = None, fallback_task: str | None = None,
                 estimator: CodecEstimator | None = None) -> None:
        for given in (task, fallback_task):
            if given is not None and given != AUTO_TASK:
                model.resolve_task(given)  # KeyError listing the choices
        self.auto = AutoRouter(model, estimator) if estimator is not None else None
        if self.auto is None and AUTO_TASK in (task, fallback_task):
            raise ValueError(f"Task '{AUTO_TASK}' needs a codec estimator, which this backbone's repository does not hold; "
                             f"pass --task with one of: {', '.join([*model.tasks, *model.pack_names])}")
        self.task = task
        self.fallback_task = fallback_task
        self.choices = [*([AUTO_TASK] if self.auto else []), *model.tasks, *model.pack_names]
        self.by_codec = tasks_by_codec(model)

    def choose(self, codec: str | None, format_name: str, rgb: np.ndarray | None = None) -> str:
        """The task of :meth:`explain`."""
        return self.explain(codec, format_name, rgb).task

    def explain(self, codec: str | None, format_name: str, rgb: np.ndarray | None = None) -> Choice:
        """The task for a file of ``codec`` (None: not recognised) in ``format_name`` whose pixels
        are ``rgb`` (uint8 ``[H, W, 3]``, needed when the estimator decides), and why;
        ``NoTaskError`` says why there is none and names the choices."""
        if self.task == AUTO_TASK:
            return self._estimate(rgb)
        if self.task is not None:
            return Choice(self.task, "given with --task")
        if codec is None:
            if self.fallback_task not in (None, AUTO_TASK):
                return Choice(self.fallback_task, f"a {format_name} file names no codec; --fallback-task")
            if self.auto is not None:
                return self._estimate(rgb)
            if UNCOMPRESSED_TASK in self.by_codec:
                return Choice(self.by_codec[UNCOMPRESSED_TASK], f"a {format_name} file is no codec's output")
        found = self.by_codec.get(codec) if codec else None
        if found is None and codec in RELATED_CODECS and RELATED_CODECS[codec] in self.by_codec:
            return Choice(self.by_codec[RELATED_CODECS[codec]], f"container: {format_name}, served by the {RELATED_CODECS[codec]} task")
        if found is not None:
            return Choice(found, f"container: {format_name}")
        if self.fallback_task == AUTO_TASK:
            return self._estimate(rgb)
        if self.fallback_task is not None:
            return Choice(self.fallback_task, f"no task for {codec}; --fallback-task")
        if self.auto is not None and codec in self.auto.estimator.config.fallback_tasks:
            task, rule = self.auto.task_for(codec)
            return Choice(task, f"container: {format_name}; {rule}")
        if codec is None:
            reason = f"a {format_name} file is not the output of a codec this model restores"
        else:
            reason = f"no task of this model is for {codec} (load its prompt pack with --prompts)"
        raise NoTaskError(f"{reason}; pass --task or --fallback-task with one of: {', '.join(self.choices)}")

    def _estimate(self, rgb: np.ndarray | None) -> Choice:
        assert self.auto is not None
        if rgb is None:
            raise ValueError("The estimator needs the picture's pixels: pass rgb")
        return self.auto.choose(images_to_tensor([rgb])[0])
