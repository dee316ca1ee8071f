"""The Gradio page: an upload (or an example), a task menu, a bicubic | restored slider, why that
task ran, and the x4 PNG to download. Built on :func:`ucip_adapt.demo.restore.restore_file`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the page makes no call outside its host

import gradio as gr  # noqa: E402

from ..modeling.ucip import UCIP  # noqa: E402
from ..upscale.engine import Upscaler  # noqa: E402
from ..upscale.loading import load_estimator_of  # noqa: E402
from ..upscale.reading import peek_size  # noqa: E402
from ..upscale.tasks import TaskChooser  # noqa: E402
from .restore import FROM_FILE, restore_file, task_choices  # noqa: E402

INTRO = """# ucip-adapt: x4 restoration of compressed pictures
Upload a small picture as it came from the web (JPEG, WebP, AVIF, HEIC, PNG...). The file's codec,
read from its bytes (or, for a PNG, estimated from its pixels), picks the backbone task or prompt
pack that undoes it; the slider compares bicubic (left) with the restored result (right)."""


def build_demo(model: UCIP, examples: Sequence[Path] = (), upscaler: Upscaler | None = None) -> gr.Blocks:
    """The page for ``model`` (with its packs loaded), offering ``examples`` as one-click inputs.

    ``upscaler`` sets the device and precision (default: fp32 on the CPU)."""
    upscaler = upscaler or Upscaler(model)
    chooser = TaskChooser(model, estimator=load_estimator_of(model))
    output_root = Path(tempfile.mkdtemp(prefix="ucip-demo-"))  # Gradio serves files from the temp dir

    def restore(path: str | None, choice: str, progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008 (Gradio's idiom)
        if not path:
            raise gr.Error("Upload a picture first, or click an example.")
        done = 0

        def tick(steps: int) -> None:
            nonlocal done
            done += steps
            progress((done, total), desc="restoring", unit="steps")

        try:
            total = _steps(upscaler, Path(path))
            progress(0, desc="restoring")
            result = restore_file(upscaler, chooser, Path(path), choice, Path(tempfile.mkdtemp(dir=output_root)), tick)
        except ValueError as error:
            raise gr.Error(str(error)) from None
        height, width = result.restored.shape[:2]
        info = (
            f"**Task:** `{result.task}` ({result.reason}).  \n"
            f"**Size:** {width // 4}x{height // 4} -> {width}x{height} in {result.seconds:.1f} s."
        )
        return (result.bicubic, result.restored), info, str(result.output)

    with gr.Blocks(title="ucip-adapt") as demo:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column():
                picture = gr.Image(type="filepath", image_mode=None, sources=["upload", "clipboard"], height=280, label="Compressed picture")
                task = gr.Dropdown(task_choices(model), value=FROM_FILE, label="Task or prompt pack")
                button = gr.Button("Restore x4", variant="primary")
                if examples:
                    gr.Examples([[str(path)] for path in examples], inputs=[picture], label="Examples (made from scikit-image photos)")
            with gr.Column():
                slider = gr.ImageSlider(type="numpy", label="bicubic | restored")
                info = gr.Markdown(elem_id="restoration-info")
                download = gr.File(label="x4 result (PNG)", elem_id="restoration-file")
        button.click(restore, inputs=[picture, task], outputs=[slider, info, download])
    return demo


def _steps(upscaler: Upscaler, path: Path) -> int:
    """Progress steps of a banded run on this file (at least 1, so the bar has a length)."""
    size = peek_size(path)
    return max(1, upscaler.steps(size[1], size[0])) if size else 1

