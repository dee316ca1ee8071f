"""Upscaling real files: codec-aware task choice, exact banded inference for large images, batching,
and image writing that keeps alpha, colour profile and EXIF. ``ucip-adapt upscale`` is built on it.

    from ucip_adapt.upscale import Upscaler, TaskChooser, load_model, plan_jobs, upscale_files
    model = load_model("path/to/backbone", ["path/to/avif-pack"])
    report = upscale_files(plan_jobs([Path("in")], Path("out")), Upscaler(model), TaskChooser(model))
"""

from .banded import forward_banded
from .discovery import Job, find_images, plan_jobs
from .engine import Upscaler, plan_batches, resolve_device
from .loading import DEFAULT_BACKBONE, DEFAULT_PROMPT_PACKS, load_model
from .pipeline import Report, upscale_alpha, upscale_files
from .reading import InputImage, read_input
from .tasks import NoTaskError, TaskChooser
from .writing import output_format, write_output

__all__ = [
    "DEFAULT_BACKBONE",
    "DEFAULT_PROMPT_PACKS",
    "InputImage",
    "Job",
    "NoTaskError",
    "Report",
    "TaskChooser",
    "Upscaler",
    "find_images",
    "forward_banded",
    "load_model",
    "output_format",
    "plan_batches",
    "plan_jobs",
    "read_input",
    "resolve_device",
    "upscale_alpha",
    "upscale_files",
    "write_output",
]
