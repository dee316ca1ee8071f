"""How a backbone's gain over bicubic depends on how strongly its input was compressed.

    python benchmarks/compression_strength.py --data ../shared/data/eval/kodak24 --images 24
    python benchmarks/compression_strength.py --backbone runs/stage9/final --degradations jpeg:90,40,10 --tasks jpeg webp

The backbone trains on LR images compressed at four levels per codec and never sees an
uncompressed one. This scores the same photos uncompressed (the clean bicubic x4 LR) and under each
``--degradations`` level, run with each of ``--tasks``, and prints per input the mean PSNR-Y of the
LR against the clean LR (how much the codec took away), of bicubic against the HR, and the gain of
the backbone over bicubic: whether it adds detail a codec left, or mainly removes what a codec added.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from ucip_adapt.bundled import DEFAULT_BACKBONE_ID
from ucip_adapt.data import degraded_pairs, load_hr_images
from ucip_adapt.image_degradation import bicubic_downscale
from ucip_adapt.metrics import psnr_y
from ucip_adapt.modeling.ucip import UCIP
from ucip_adapt.training.evaluation import bicubic_upscale, model_upscale
from ucip_adapt.training.pairs import ImagePair, materialize_pairs


def score_row(model: UCIP, label: str, pairs: list[ImagePair], tasks: list[str], compressed: bool = True) -> str:
    """One table row over ``pairs`` (their LR, or the clean LR when not ``compressed``): the LR's
    PSNR-Y against the clean LR, bicubic's PSNR-Y against the HR and the backbone's gain per task."""
    lr_psnr, bicubic, gains = [], [], {task: [] for task in tasks}
    for pair in pairs:
        clean_lr = bicubic_downscale(pair.hr)
        lr = pair.lr if compressed else clean_lr
        if compressed:
            lr_psnr.append(psnr_y(lr, clean_lr, crop_border=0))
        bicubic.append(psnr_y(bicubic_upscale(lr), pair.hr))
        for task in tasks:
            with torch.no_grad():
                sr = model_upscale(model, lr, task, torch.device("cpu"))
            gains[task].append(psnr_y(sr, pair.hr) - bicubic[-1])
    lr_cell = f"{np.mean(lr_psnr):.2f}" if lr_psnr else "-"
    return f"| {label} | {lr_cell} | {np.mean(bicubic):.2f} | " + " | ".join(f"{np.mean(gains[t]):+.3f}" for t in tasks) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default=DEFAULT_BACKBONE_ID)
    parser.add_argument("--data", required=True, help="folder of HR photos")
    parser.add_argument("--degradations", nargs="+", default=["jpeg:90,70,40,10"],
                        help="codec:levels scored besides the uncompressed LR")
    parser.add_argument("--tasks", nargs="+", default=["jpeg"], help="seen tasks the backbone runs with")
    parser.add_argument("--images", type=int, default=8, help="photos scored, at most")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = UCIP.from_pretrained(args.backbone).eval()
    hr = load_hr_images(args.data, cache_dir=args.cache_dir)
    hr = hr.select(range(min(args.images, len(hr))))
    pairs: list[ImagePair] = materialize_pairs(degraded_pairs(hr, args.degradations, cache_dir=args.cache_dir))
    print(f"{args.backbone} on {len(hr)} photos of {args.data}\n")
    print("| LR input | LR PSNR-Y vs uncompressed LR | bicubic PSNR-Y | "
          + " | ".join(f"backbone (`{t}`) - bicubic" for t in args.tasks) + " |")
    print("|---|---|---|" + "---|" * len(args.tasks))
    by_level: dict[str, list[ImagePair]] = {}
    for pair in pairs:
        by_level.setdefault(f"{pair.codec} {pair.level}", []).append(pair)
    print(score_row(model, "uncompressed", next(iter(by_level.values())), args.tasks, compressed=False))
    for label, level_pairs in by_level.items():
        print(score_row(model, label, level_pairs, args.tasks))


if __name__ == "__main__":
    main()
