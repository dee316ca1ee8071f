"""How a backbone's gain over bicubic depends on the size of its input.

    python benchmarks/input_size.py --data ../shared/data/eval/kodak24 --degradation jpeg:40
    python benchmarks/input_size.py --backbone outputs/pretrain-ucip-small/final --sizes 48 80 0

SPADE's instance norm and the token mixer's fusion weights use statistics of the whole input, so
a network trained on small crops can do well on crops and worse on whole photos. This scores the
same photos as centre LR crops of each ``--sizes`` (0: the whole image) and prints, per size, the
mean PSNR-Y gain of the backbone over bicubic. Photos whose LR is smaller than a size are left out
of that row.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from ucip_adapt.bundled import DEFAULT_BACKBONE_ID
from ucip_adapt.data import degraded_pairs, load_hr_images
from ucip_adapt.data.crops import CropParams, apply_crop
from ucip_adapt.metrics import psnr_y
from ucip_adapt.modeling.ucip import UCIP
from ucip_adapt.training.evaluation import bicubic_upscale, model_upscale
from ucip_adapt.training.pairs import TrainingPair, materialize_pairs


def centre_crop(pair: TrainingPair, size: int) -> tuple[np.ndarray, np.ndarray]:
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
    parser.add_argument("--sizes", type=int, nargs="+", default=[48, 64, 96, 128, 0], help="LR crop sizes; 0 is the whole image")
    parser.add_argument("--images", type=int, default=8, help="photos scored, at most")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = UCIP.from_pretrained(args.backbone).eval()
    hr = load_hr_images(args.data, cache_dir=args.cache_dir)
    pairs = materialize_pairs(degraded_pairs(hr, [args.degradation], cache_dir=args.cache_dir))[: args.images]
    print(f"{args.backbone} on {len(pairs)} photos of {args.data}, {args.degradation}\n")
    print("| LR input | photos | bicubic PSNR-Y | backbone - bicubic (dB) |\n|---|---|---|---|")
    for size in args.sizes:
        bicubic, gains = [], []
        for pair in pairs:
            if size > min(pair.lr.shape[:2]):
                continue
            lr, hr_crop = centre_crop(pair, size)
            with torch.no_grad():
                sr = model_upscale(model, lr, pair.task, torch.device("cpu"))
            bicubic.append(psnr_y(bicubic_upscale(lr), hr_crop))
            gains.append(psnr_y(sr, hr_crop) - bicubic[-1])
        label = f"{size}x{size} centre crop" if size else "whole image"
        if not gains:
            print(f"| {label} | 0 | - | - |")
            continue
        print(f"| {label} | {len(gains)} | {np.mean(bicubic):.2f} | {np.mean(gains):+.3f} |")


if __name__ == "__main__":
    main()
