"""``ucip-adapt upscale INPUT... -o OUT``: x4 restoration of compressed image files and folders."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..flags import integer_in, positive_int
from ..upscale.engine import DEFAULT_MAX_BATCH, DEFAULT_TILE_PIXELS, DTYPES
from ..upscale.loading import DEFAULT_BACKBONE, DEFAULT_PROMPT_PACKS
from ..upscale.pipeline import DEFAULT_QUALITY


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "upscale",
        help="x4 super-resolution of compressed images (files or folders), the task picked from each file's codec",
        description=(
            "Restore and upscale x4 compressed, downscaled pictures. Each file's codec is recognised from its bytes "
            "(JPEG, WebP, AVIF, HEIC, JPEG XL, JPEG 2000, raw HEVC/VVC/H.264) and mapped to the backbone's task or a "
            "loaded prompt pack of that codec; files that name no codec (PNG, TIFF, BMP) go to the codec the estimator reads "
            "from their pixels. Each file's task and why are printed at the end. Folders are searched recursively and "
            "their tree is kept under OUT."
        ),
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image files and/or folders")
    parser.add_argument(
        "-o", "--output", type=Path, required=True,
        help="output folder (outputs keep the input's stem: a.jpg -> OUT/a.png); for a single input file, "
        "also an output file whose extension picks the format",
    )
    parser.add_argument("--backbone", help=f"backbone folder, file or Hub id (default: {DEFAULT_BACKBONE})")
    parser.add_argument(
        "--prompts", nargs="*", metavar="PACK",
        help="prompt packs to load (file, folder or Hub id); default: the bundled packs of the default backbone "
        f"({', '.join(DEFAULT_PROMPT_PACKS)}), none for another --backbone; give the flag alone for none",
    )
    parser.add_argument("--task", help="use this task (backbone task or pack name) for every file, whatever its codec; "
                        "'auto': the codec estimated from each file's pixels")
    parser.add_argument("--fallback-task", help="task for files whose codec is not recognised (PNG, BMP...; default: 'auto', "
                        "the codec estimated from the pixels, or the clean task for a backbone without an estimator) or has no task")
    parser.add_argument("--format", default="png", help="output format (extension) when OUT is a folder (default: png)")
    parser.add_argument("--quality", type=integer_in(0, 100), default=DEFAULT_QUALITY, help=f"quality of lossy output formats (default: {DEFAULT_QUALITY})")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: skip them)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="default: auto (CUDA if available)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="compute precision (default: fp32)")
    parser.add_argument("--threads", type=positive_int, help="CPU threads for PyTorch (default: PyTorch's choice)")
    parser.add_argument(
        "--tile-pixels", type=positive_int, default=DEFAULT_TILE_PIXELS,
        help="LR pixels computed at once: larger images run by exact row bands of this size; lower it to save memory "
        f"(default: {DEFAULT_TILE_PIXELS})",
    )
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULT_MAX_BATCH, help=f"most same-size images run together (default: {DEFAULT_MAX_BATCH})")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm.contrib.logging import logging_redirect_tqdm

    from ..upscale.discovery import plan_jobs
    from ..upscale.engine import Upscaler, resolve_device
    from ..upscale.loading import load_estimator_of, load_model
    from ..upscale.pipeline import upscale_files
    from ..upscale.tasks import TaskChooser

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    jobs = plan_jobs(args.inputs, args.output, "." + args.format.lower().lstrip("."))
    if not jobs:
        print(f"No image files found in {', '.join(map(str, args.inputs))}.", file=sys.stderr)
        return 1
    device = resolve_device(args.device)
    model = load_model(args.backbone, args.prompts)
    chooser = TaskChooser(model, args.task, args.fallback_task, load_estimator_of(model))
    upscaler = Upscaler(model, device, DTYPES[args.dtype], args.tile_pixels, args.batch_size)
    with logging_redirect_tqdm():
        report = upscale_files(jobs, upscaler, chooser, overwrite=args.overwrite, quality=args.quality, show_progress=not args.quiet)
    print(report.summary(per_file=not args.quiet), file=sys.stderr if report.failed or report.not_started else sys.stdout)
    if report.not_started:
        return 130  # the shell's code for a run stopped by Ctrl-C
    return 1 if report.failed else 0
