"""How a backbone's gain over bicubic depends on the size of its input.

    python benchmarks/input_size.py --data ../shared/data/eval/kodak24 --degradation jpeg:40
    python benchmarks/input_size.py --backbone outputs/pretrain-ucip-small/final --sizes 48 80 0
    python benchmarks/input_size.py --data ../shared/data/eval/kodak24 --min-inference-side 1 128   # with and without

SPADE's instance norm and the token mixer's fusion weights use statistics of the whole input, so
a network trained on small crops can do well on crops and worse on whole photos. This scores the
same photos as centre LR crops of each ``--sizes`` (0: the whole image) and prints, per size, the
mean PSNR-Y gain of the backbone over bicubic (and the worst photo's). Photos whose LR is smaller
than a size are left out of that row. ``--min-inference-side`` scores the same crops with each
given ``min_inference_side`` in place of the backbone's own: how far inputs smaller than the
crops it trained on are mirrored out before they run.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from dataclasses import replace

from ucip_adapt.bundled import DEFAULT_BACKBONE_ID
from ucip_adapt.data import degraded_pairs, load_hr_images
from ucip_adapt.data.crops import CropParams, apply_crop
from ucip_adapt.flags import positive_int
from ucip_adapt.metrics import psnr_y
from ucip_adapt.modeling.ucip import UCIP
from ucip_adapt.training.evaluation import bicubic_upscale, model_upscale
from ucip_adapt.training.pairs import ImagePair, materialize_pairs


def centre_crop(pair: ImagePair, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The LR centre crop of ``size`` (0: whole) and its HR counterpart."""
    if not size:
        return pair.lr, pair.hr
    top, left = (pair.lr.shape[0] - size) // 2, (pair.lr.shape[1] - size) // 2
    return apply_crop(pair.lr, pair.hr, CropParams(top, left, size, transform=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default=DEFAULT_BACKBONE_ID)
    parser.add_argument("--data", required=True, help="folder of HR photos")
    parser.add_argument("--degradation", default="jpeg:40", help="codec:level, run with the codec's own task")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 48, 64, 96, 128, 0], help="LR crop sizes; 0 is the whole image")
    parser.add_argument("--min-inference-side", type=positive_int, nargs="+", default=None,
                        help="score with each of these min_inference_side values instead of the backbone's own")
    parser.add_argument("--images", type=positive_int, default=8, help="photos scored, at most")
    parser.add_argument("--threads", type=positive_int, default=2)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = UCIP.from_pretrained(args.backbone).eval()
    hr = load_hr_images(args.data, cache_dir=args.cache_dir)
    pairs = materialize_pairs(degraded_pairs(hr, [args.degradation], cache_dir=args.cache_dir))[: args.images]
    sides = args.min_inference_side or [model.config.min_inference_side]
    print(f"{args.backbone} on {len(pairs)} photos of {args.data}, {args.degradation}\n")
    print("| LR input | photos | bicubic PSNR-Y | " + " | ".join(f"backbone - bicubic, min side {side} (worst photo)" for side in sides) + " |")
    print("|---|---|---|" + "---|" * len(sides))
    for size in args.sizes:
        usable = [pair for pair in pairs if size <= min(pair.lr.shape[:2])]
        label = f"{size}x{size} centre crop" if size else "whole image"
        if not usable:
            print(f"| {label} | 0 | - |" + " - |" * len(sides))
            continue
        crops = [centre_crop(pair, size) for pair in usable]
        bicubic = [psnr_y(bicubic_upscale(lr), hr_crop) for lr, hr_crop in crops]
        cells = []
        for side in sides:
            model.config = replace(model.config, min_inference_side=side)
            with torch.no_grad():
                gains = [psnr_y(model_upscale(model, lr, pair.task, torch.device("cpu")), hr_crop) - base
                         for pair, (lr, hr_crop), base in zip(usable, crops, bicubic)]
            cells.append(f"{np.mean(gains):+.3f} ({min(gains):+.2f})")
        print(f"| {label} | {len(usable)} | {np.mean(bicubic):.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
