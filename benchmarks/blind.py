"""Blind restoration on the evaluation sets: how close ``task="auto"`` comes to the best task.

    python benchmarks/blind.py --data ../shared/data/eval/kodak24 ../shared/data/eval/set14 ../shared/data/eval/bsd100 \
        --vvc-bitstreams ../shared/data/vvc/eval/kodak24 ../shared/data/vvc/eval/set14 ../shared/data/vvc/eval/bsd100

Each photo is degraded with a codec and a level drawn at random (seeded) among the estimator's
classes and the codec's four standard levels, or left clean, and half of the compressed ones are
"saved as PNG" (their container no longer names the codec). Every task and loaded pack runs on
every picture; per set, the mean PSNR-Y of:

- ``auto``: the estimator's choice from the pixels alone;
- ``upscale``: what ``ucip-adapt upscale`` does: the container's codec where the file names one,
  else the estimator's choice;
- ``container``: the route before ``auto`` existed: the container's codec, else the ``clean`` task;
- ``jpeg``: the ``jpeg`` task for everything;
- ``oracle``: the best task or pack for each picture (knowing the original);

and, over all sets, the estimator's accuracy per codec and level, every photo degraded with every
codec at every standard level: the codec itself, and its family (HEIC is HEVC in another
container, and both go to the same task).
"""

from __future__ import annotations

import argparse
import random
from collections import defaultdict
from pathlib import Path
from statistics import mean

import torch

from ucip_adapt.blind import load_estimator
from ucip_adapt.blind.routing import RELATED_CODECS
from ucip_adapt.data import codec_degradations, degraded_pairs, load_hr_images
from ucip_adapt.flags import positive_int
from ucip_adapt.metrics import psnr_y
from ucip_adapt.pixels import images_to_tensor
from ucip_adapt.training.evaluation import model_upscale
from ucip_adapt.training.pairs import materialize_pairs
from ucip_adapt.upscale import TaskChooser, load_model
from ucip_adapt.upscale.loading import load_estimator_of

METHODS = ("auto", "upscale", "container", "jpeg", "oracle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", required=True, help="folders of HR photos, one per evaluation set")
    parser.add_argument("--vvc-bitstreams", nargs="+", default=None, help="pre-encoded VVC bitstreams, one folder per --data")
    parser.add_argument("--images", type=positive_int, default=None, help="photos per set, at most")
    parser.add_argument("--estimator", default=None,
                        help="a codec estimator folder to measure instead of the backbone's own (a new train_task_estimator.py run)")
    parser.add_argument("--accuracy-only", action="store_true", help="only the estimator's accuracy table: no restoration, minutes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=positive_int, default=2)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    if args.vvc_bitstreams and len(args.vvc_bitstreams) != len(args.data):
        parser.error("--vvc-bitstreams needs one folder per --data folder")
    torch.set_num_threads(args.threads)
    model = load_model()
    estimator = load_estimator(args.estimator) if args.estimator else load_estimator_of(model)
    if estimator is None:
        parser.error("the backbone has no codec estimator")
    sets = []
    for index, folder in enumerate(args.data):
        hr_images = load_hr_images(folder, cache_dir=args.cache_dir)
        if args.images:
            hr_images = hr_images.select(range(min(args.images, len(hr_images))))
        sets.append((Path(folder).name, hr_images, args.vvc_bitstreams[index] if args.vvc_bitstreams else None))
    if not args.accuracy_only:
        print_routes(model, estimator, sets, random.Random(args.seed), args.cache_dir)
    print_accuracy(estimator, sets, args.cache_dir)


def print_routes(model, estimator, sets, draw: random.Random, cache_dir) -> None:  # type: ignore[no-untyped-def]
    """Per set, the mean PSNR-Y of every route on one random degradation per photo."""
    auto = TaskChooser(model, task="auto", estimator=estimator)
    upscale_route = TaskChooser(model, estimator=estimator)
    container_route = TaskChooser(model, fallback_task="clean")
    candidates = [*model.tasks, *model.pack_names]
    print("| set | pictures | " + " | ".join(f"{m} PSNR-Y" for m in METHODS) + " | auto - oracle | upscale - oracle |")
    print("|---|---|" + "---|" * (len(METHODS) + 2))
    for name, hr_images, vvc in sets:
        scores: dict[str, list[float]] = defaultdict(list)
        for row in range(len(hr_images)):
            codec = draw.choice(estimator.config.codecs)
            degradation = draw.choice(codec_degradations([codec], vvc))
            as_png = codec != "clean" and draw.random() < 0.5
            pair = materialize_pairs(degraded_pairs(hr_images.select([row]), [degradation], cache_dir=cache_dir))[0]
            outputs = {task: psnr_y(model_upscale(model, pair.lr, task, torch.device("cpu")), pair.hr) for task in candidates}
            container = None if as_png or codec == "clean" else codec
            chosen = {
                "auto": auto.choose(None, "PNG", pair.lr),
                "upscale": upscale_route.choose(container, container or "PNG", pair.lr),
                "container": container_route.choose(container, container or "PNG", pair.lr),
                "jpeg": "jpeg",
            }
            for method, task in chosen.items():
                scores[method].append(outputs[task])
            scores["oracle"].append(max(outputs.values()))
        means = {method: mean(values) for method, values in scores.items()}
        print(f"| {name} | {len(scores['oracle'])} | " + " | ".join(f"{means[m]:.3f}" for m in METHODS)
              + f" | {means['auto'] - means['oracle']:+.3f} | {means['upscale'] - means['oracle']:+.3f} |")


def print_accuracy(estimator, sets, cache_dir) -> None:  # type: ignore[no-untyped-def]
    """The estimator's codec and family accuracy per codec and level, every photo of every set at each."""
    hits: dict[tuple[str, int], list[tuple[bool, bool]]] = defaultdict(list)
    for _, hr_images, vvc in sets:
        for codec in estimator.config.codecs:
            for level, degradation in enumerate(codec_degradations([codec], vvc)):
                for pair in materialize_pairs(degraded_pairs(hr_images, [degradation], cache_dir=cache_dir)):
                    guess = estimator.estimate(images_to_tensor([pair.lr])[0]).codec
                    hits[(codec, level)].append((guess == codec, _family(guess) == _family(codec)))
    print("\n| codec | pictures per level | codec accuracy, levels 0-3 (0 = heaviest) | family accuracy, levels 0-3 |\n|---|---|---|---|")
    for codec in estimator.config.codecs:
        levels = [hits[(codec, level)] for level in range(4) if hits[(codec, level)]]
        exact = " / ".join(f"{mean(h[0] for h in level):.0%}" for level in levels)
        family = " / ".join(f"{mean(h[1] for h in level):.0%}" for level in levels)
        print(f"| {codec} | {len(levels[0])} | {exact} | {family} |")


def _family(codec: str) -> str:
    return RELATED_CODECS.get(codec, codec)


if __name__ == "__main__":
    main()
