"""Upscale a list of jobs: read, choose the task, run in batches, write; errors stay per file.

One file failing (unreadable, no task for its codec, unwritable output) is recorded and the others
go on; existing outputs are skipped unless ``overwrite``, which replaces only earlier outputs: a file
at an output path that ``ucip-adapt`` did not write stops the run before any work. Ctrl-C stops after
the file being written (writes are atomic: no partial file) and the report says what was done. A
progress bar counts files, and a second one the steps of each image that runs by bands.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ..blind.routing import Choice
from .discovery import Job
from .engine import Upscaler, plan_batches
from .reading import InputImage, peek_size, read_input
from .tasks import TaskChooser
from .writing import is_earlier_output, write_output

logger = logging.getLogger(__name__)

DEFAULT_QUALITY = 95


@dataclass
class Report:
    """What a run did: files written (with their task and why), skipped because they exist, and failures."""

    written: list[tuple[Job, Choice]] = field(default_factory=list)
    skipped: list[Job] = field(default_factory=list)
    failed: list[tuple[Job, str]] = field(default_factory=list)
    not_started: int = 0
    """Files left when the run was interrupted (Ctrl-C)."""

    def summary(self, per_file: bool = True) -> str:
        """A few lines for the terminal; ``per_file`` adds each written file's task and why."""
        tasks = Counter(choice.task for _job, choice in self.written)
        lines = [f"Upscaled {len(self.written)} file(s)" + (f" (tasks: {', '.join(f'{t} {n}' for t, n in sorted(tasks.items()))})" if tasks else "") + "."]
        if per_file:
            lines += [f"  {job.source}: {choice.task} ({choice.reason})" for job, choice in self.written]
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} file(s) whose output exists (pass --overwrite to replace them).")
        if self.failed:
            lines.append(f"{len(self.failed)} file(s) failed:")
            lines += [f"  {job.source}: {reason}" for job, reason in self.failed]
        if self.not_started:
            lines.append(f"Interrupted: {self.not_started} file(s) not done. Run the same command again to finish them "
                         "(finished outputs are skipped).")
        return "\n".join(lines)


@dataclass
class _Decoded:
    job: Job
    image: InputImage
    choice: Choice


def upscale_files(
    jobs: list[Job], upscaler: Upscaler, chooser: TaskChooser, *, overwrite: bool = False,
    quality: int = DEFAULT_QUALITY, show_progress: bool = True,
) -> Report:
    """Run every job; see the module docstring for the error, overwrite and interruption rules.

    Raises:
        ValueError: with ``overwrite``, an output path holds a file that ``ucip-adapt`` did not write.
    """
    report = Report()
    todo, protected = [], []
    for job in jobs:
        if not job.output.exists():
            todo.append(job)
        elif not overwrite:
            report.skipped.append(job)
        else:
            (todo if is_earlier_output(job.output) else protected).append(job)
    if protected:
        raise ValueError(
            f"{len(protected)} output path(s) hold files that ucip-adapt did not write, which --overwrite never replaces: "
            + ", ".join(str(job.output) for job in protected[:5]) + ". Move them away or choose another -o."
        )
    batches = plan_batches([peek_size(job.source) for job in todo], upscaler.tile_pixels, upscaler.max_batch,
                           upscaler.model.config.min_inference_side)
    try:
        with tqdm(total=len(todo), unit="file", desc="upscale", disable=not show_progress) as files_bar:
            for batch in batches:
                decoded = [d for d in (_decode(todo[i], chooser, report) for i in batch) if d is not None]
                files_bar.update(len(batch) - len(decoded))
                for group in _by_shape(decoded):
                    _run_group(group, upscaler, quality, report, show_progress)
                    files_bar.update(len(group))
    except KeyboardInterrupt:
        report.not_started = len(todo) - len(report.written) - len(report.failed)
    return report


def upscale_alpha(alpha: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic x``scale`` of an alpha plane. Alpha is coded losslessly or apart from the colour, so
    there are no compression artefacts for the network to remove (nor was it trained on mattes)."""
    height, width = alpha.shape
    return np.asarray(Image.fromarray(alpha).resize((width * scale, height * scale), Image.Resampling.BICUBIC))


def _decode(job: Job, chooser: TaskChooser, report: Report) -> _Decoded | None:
    try:
        image = read_input(job.source)
        return _Decoded(job, image, chooser.explain(image.codec, image.format_name, image.rgb))
    except Exception as error:  # one bad file must not stop the batch
        report.failed.append((job, _reason(error)))
        return None


def _by_shape(decoded: list[_Decoded]) -> list[list[_Decoded]]:
    groups: dict[tuple[int, ...], list[_Decoded]] = {}
    for item in decoded:
        groups.setdefault(item.image.rgb.shape, []).append(item)
    return list(groups.values())


def _run_group(group: list[_Decoded], upscaler: Upscaler, quality: int, report: Report, show_progress: bool) -> None:
    height, width = group[0].image.rgb.shape[:2]
    steps = upscaler.steps(height, width, len(group))
    try:
        with tqdm(total=steps, unit="step", desc=group[0].job.source.name, leave=False, disable=not show_progress or not steps) as bar:
            outputs = upscaler.upscale([d.image.rgb for d in group], [d.choice.task for d in group], bar.update)
    except Exception as error:  # e.g. out of memory: these files fail, the others go on
        report.failed += [(d.job, _reason(error)) for d in group]
        return
    scale = upscaler.model.config.scale
    for item, rgb in zip(group, outputs):
        try:
            alpha = None if item.image.alpha is None else upscale_alpha(item.image.alpha, scale)
            write_output(item.job.output, rgb, alpha, item.image, quality)
            report.written.append((item.job, item.choice))
        except Exception as error:
            report.failed.append((item.job, _reason(error)))


def _reason(error: Exception) -> str:
    message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return f"{message} ({type(error).__name__})" if message else type(error).__name__
