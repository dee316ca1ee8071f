"""One restoration as the demo shows it: the file decoded, its task chosen (and why), the x4 result
beside bicubic, and a PNG of it to download. Independent of Gradio, so it is tested directly."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..modeling.ucip import UCIP
from ..training.evaluation import bicubic_upscale
from ..upscale.banded import Progress
from ..upscale.engine import Upscaler
from ..upscale.pipeline import upscale_alpha
from ..upscale.reading import InputImage, read_input
from ..upscale.tasks import TaskChooser
from ..upscale.writing import write_output

FROM_FILE = "from the file"
"""The task choice that lets the file decide: its codec's task or prompt pack (``ucip-adapt upscale``'s rule)."""

MAX_INPUT_PIXELS = 1024 * 1024
"""Largest input the page accepts (LR pixels): a CPU takes minutes beyond it; the CLI has no limit."""


@dataclass(frozen=True)
class Restoration:
    """What the page shows for one input.

    Attributes:
        bicubic: Pillow bicubic x4 of the decoded input, uint8 ``[4H, 4W, 3]`` (the slider's left side).
        restored: the network's x4 result, uint8 ``[4H, 4W, 3]``.
        task: the backbone task or prompt pack that ran.
        reason: one sentence saying why that task.
        output: the x4 result as a PNG (alpha, colour profile and EXIF kept).
        seconds: time spent in the network.
    """

    bicubic: np.ndarray
    restored: np.ndarray
    task: str
    reason: str
    output: Path
    seconds: float


def task_choices(model: UCIP) -> list[str]:
    """The page's task menu: :data:`FROM_FILE`, then the backbone's tasks, then the loaded packs."""
    return [FROM_FILE, *model.tasks, *model.pack_names]


def restore_file(upscaler: Upscaler, chooser: TaskChooser, path: Path, choice: str, output_dir: Path,
                 progress: Progress | None = None) -> Restoration:
    """Restore the picture in ``path`` with ``choice`` (a task, a pack or :data:`FROM_FILE`: what
    ``chooser`` says for the file) and write ``output_dir/<stem>-x4.png``.

    Raises:
        ValueError: the file cannot be read, is larger than :data:`MAX_INPUT_PIXELS`, or no task
            fits it (the message names the choices).
    """
    image = read_input(path)
    height, width = image.rgb.shape[:2]
    if height * width > MAX_INPUT_PIXELS:
        raise ValueError(
            f"{width}x{height} is more than the page takes ({MAX_INPUT_PIXELS:,} pixels); "
            "crop it, or run `ucip-adapt upscale` on the file, which has no limit"
        )
    task, reason = _choose(upscaler.model, chooser, image, choice)
    start = time.perf_counter()
    restored = upscaler.upscale([image.rgb], [task], progress)[0]
    seconds = time.perf_counter() - start
    scale = upscaler.model.config.scale
    alpha = None if image.alpha is None else upscale_alpha(image.alpha, scale)
    output = output_dir / f"{path.stem}-x4.png"
    write_output(output, restored, alpha, image, quality=100)
    return Restoration(bicubic_upscale(image.rgb, scale), restored, task, reason, output, seconds)


def _choose(model: UCIP, chooser: TaskChooser, image: InputImage, choice: str) -> tuple[str, str]:
    if choice != FROM_FILE:
        try:
            model.resolve_task(choice)
        except KeyError as error:
            raise ValueError(error.args[0]) from None
        return choice, "chosen by hand"
    chosen = chooser.explain(image.codec, image.format_name, image.rgb)
    kind = "prompt pack" if chosen.task in model.pack_names else "backbone task"
    return chosen.task, f"{kind}; {chosen.reason}"
