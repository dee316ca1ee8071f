"""Benchmark ``ucip-adapt upscale``'s engine: output megapixels per second and peak RSS, whole vs tiled.

Each measurement runs in a fresh process (peak RSS is a per-process high-water mark), on a random
LR image of the given size, after a small warm-up run. "whole" runs the network on the whole
image at once; "tiled" runs it by exact row bands of ``--tile-pixels`` LR pixels (docs/upscale.md).
Weights are random (speed and memory do not depend on them) unless ``--backbone`` is given.

    python benchmarks/upscale.py                                   # markdown table to stdout
    python benchmarks/upscale.py --presets ucip-small --sizes 960x540 --modes tiled --tile-pixels 65536

``--kodak-psnr`` instead measures how close tiled output is to whole-image output on Kodak24
(LR = bicubic x4, JPEG QF 30): PSNR (RGB, 8-bit) and the largest raw difference, per image and mean.

    python benchmarks/upscale.py --kodak-psnr --tile-pixels 4096
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ucip_adapt import UCIP
from ucip_adapt.config import preset
from ucip_adapt.upscale import Upscaler

DEFAULT_SIZES = ("256x256", "480x270", "960x540")
WHOLE = 2**62  # a tile budget no image reaches


def build_model(preset_name: str, backbone: str | None) -> UCIP:
    if backbone:
        return UCIP.from_pretrained(backbone)
    torch.manual_seed(0)
    return UCIP(preset(preset_name)).eval()


def measure_one(preset_name: str, size: str, tile_pixels: int, backbone: str | None) -> dict[str, float]:
    """Run in the child process: one timed upscale of a random image; seconds and peak RSS."""
    width, height = map(int, size.split("x"))
    upscaler = Upscaler(build_model(preset_name, backbone), tile_pixels=tile_pixels)
    task = upscaler.model.tasks[0]
    rng = np.random.default_rng(0)
    upscaler.upscale([rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)], [task])  # warm-up
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    start = time.perf_counter()
    upscaler.upscale([image], [task])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def run_table(args: argparse.Namespace) -> None:
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average before each run in the last column\n")
    print("| model | LR input | output | mode | seconds | output MP/s | peak RSS (GB) | load |")
    print("|---|---|---|---|---|---|---|---|")
    for preset_name in args.presets:
        for size in args.sizes:
            width, height = map(int, size.split("x"))
            for mode in args.modes:
                budgets = [WHOLE] if mode == "whole" else args.tile_pixels
                for tile_pixels in budgets:
                    if mode == "tiled" and width * height <= tile_pixels:
                        continue  # would run whole
                    load = os.getloadavg()[0]
                    result = _child(preset_name, size, tile_pixels, args.backbone)
                    label = "whole" if mode == "whole" else f"tiled ({tile_pixels} px bands)"
                    megapixels = 16 * width * height / 1e6
                    print(f"| {preset_name} | {width}x{height} | {4 * width}x{4 * height} | {label} | {result['seconds']:.1f} | "
                          f"{megapixels / result['seconds']:.3f} | {result['peak_rss_gb']:.2f} | {load:.1f} |", flush=True)


def _child(preset_name: str, size: str, tile_pixels: int, backbone: str | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", preset_name, size, str(tile_pixels)]
    if backbone:
        command += ["--backbone", backbone]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def kodak_psnr(args: argparse.Namespace) -> None:
    """Whole vs tiled on every Kodak24 image: PSNR of the 8-bit outputs and max raw difference."""
    model = build_model(args.presets[0], args.backbone)
    whole_engine, tiled_engine = Upscaler(model, tile_pixels=WHOLE), Upscaler(model, tile_pixels=args.tile_pixels[0])
    task = model.tasks[0]
    psnrs = []
    for path in sorted(Path(args.data, "eval/kodak24").glob("*.png")):
        lr = _compressed_lr(path)
        whole, tiled = whole_engine.upscale([lr], [task])[0], tiled_engine.upscale([lr], [task])[0]
        mse = float(((whole.astype(np.float64) - tiled) ** 2).mean())
        psnr = float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
        psnrs.append(psnr)
        print(f"{path.stem}: LR {lr.shape[1]}x{lr.shape[0]}, bands of {args.tile_pixels[0]} px: PSNR {psnr:.2f} dB, "
              f"max |diff| {int(np.abs(whole.astype(int) - tiled).max())}/255", flush=True)
    finite = [p for p in psnrs if np.isfinite(p)]
    print(f"Kodak24: {len(psnrs)} images, {len(psnrs) - len(finite)} identical; PSNR min {min(psnrs):.2f} dB, "
          f"mean of the others {np.mean(finite) if finite else float('inf'):.2f} dB")


def _compressed_lr(path: Path) -> np.ndarray:
    image = Image.open(path).convert("RGB")
    lr = image.resize((image.width // 4, image.height // 4), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    lr.save(buffer, "JPEG", quality=30)
    return np.array(Image.open(buffer).convert("RGB"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["ucip-small", "ucip-middle"])
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), help="LR sizes WxH")
    parser.add_argument("--modes", nargs="+", choices=["whole", "tiled"], default=["whole", "tiled"])
    parser.add_argument("--tile-pixels", nargs="+", type=int, default=[65536], help="LR pixels per band in tiled mode")
    parser.add_argument("--backbone", help="a trained backbone (folder or Hub id) instead of random weights")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--kodak-psnr", action="store_true", help="measure whole vs tiled PSNR on Kodak24 instead")
    parser.add_argument("--data", default=os.environ.get("UCIP_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    parser.add_argument("--child", nargs=3, metavar=("PRESET", "SIZE", "TILE_PIXELS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # for the child processes
    if args.child:
        preset_name, size, tile_pixels = args.child
        print(json.dumps(measure_one(preset_name, size, int(tile_pixels), args.backbone)))
    elif args.kodak_psnr:
        kodak_psnr(args)
    else:
        run_table(args)


if __name__ == "__main__":
    main()
