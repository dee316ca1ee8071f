"""Which files to upscale and where each result goes.

Rules: a folder input contributes every image file below it (recursively, hidden files skipped),
and its sub-folders are recreated under the output folder. Outputs keep the input's stem with the
output format's extension (``a.jpg`` -> ``OUT/a.png``). With a single file input, ``-o`` may also
name the output file itself; its extension then picks the format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .reading import register_heif_opener
from .writing import output_format

BITSTREAM_EXTENSIONS = {".jxl", ".266", ".vvc", ".265", ".hevc", ".264", ".h264"}
"""Inputs that Pillow does not open but ``ucip_adapt.codecs`` decodes."""


@dataclass(frozen=True)
class Job:
    """One input file and the file its x4 result is written to."""

    source: Path
    output: Path


def plan_jobs(inputs: Sequence[Path], output: Path, output_extension: str = ".png") -> list[Job]:
    """The jobs for ``inputs`` (files and folders) written to ``output``.

    ``output`` is a folder, except when ``inputs`` is a single file and ``output`` has an image
    extension and is not an existing folder: then it is the output file.

    Raises:
        FileNotFoundError: an input does not exist.
        ValueError: an unwritable output extension, two inputs that would write the same file, or
            an output that is one of the inputs.
    """
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise FileNotFoundError(f"Input not found: {', '.join(missing)}")
    if len(inputs) == 1 and inputs[0].is_file() and output.suffix and not output.is_dir():
        output_format(output)
        jobs = [Job(inputs[0], output)]
    else:
        output_format(Path("x" + output_extension))
        jobs = []
        for item in inputs:
            if item.is_dir():
                jobs += [Job(f, output / f.relative_to(item).with_suffix(output_extension)) for f in find_images(item, exclude=output)]
            else:
                jobs.append(Job(item, output / (item.stem + output_extension)))
    _refuse_collisions(jobs)
    _refuse_writing_over_inputs(jobs)
    return jobs


def find_images(folder: Path, exclude: Path | None = None) -> list[Path]:
    """Image files below ``folder``, sorted, skipping hidden files and folders and anything under ``exclude``."""
    extensions = image_extensions()
    excluded = exclude.resolve() if exclude is not None else None
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() not in extensions:
            continue
        if excluded is not None and path.resolve().is_relative_to(excluded):
            continue
        found.append(path)
    return found


def image_extensions() -> set[str]:
    """Extensions of files that can be read: every format Pillow opens, plus codec bitstreams."""
    register_heif_opener()
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN} | BITSTREAM_EXTENSIONS


def _refuse_collisions(jobs: list[Job]) -> None:
    sources: dict[Path, list[Path]] = {}
    for job in jobs:
        sources.setdefault(job.output, []).append(job.source)
    clashes = [f"{', '.join(map(str, srcs))} -> {out}" for out, srcs in sources.items() if len(srcs) > 1]
    if clashes:
        raise ValueError(
            "Several inputs would write the same output: " + "; ".join(clashes[:5]) + ". Rename them or upscale them in separate runs."
        )


def _refuse_writing_over_inputs(jobs: list[Job]) -> None:
    """An output that is an input file (its own or another job's) would destroy it: refuse before any work."""
    sources = {job.source.resolve() for job in jobs}
    clashes = [f"{job.source} -> {job.output}" for job in jobs if job.output.resolve() in sources]
    if clashes:
        raise ValueError(
            "An output would replace an input file: " + "; ".join(clashes[:5]) + ". Choose another -o folder or --format."
        )
