"""Train the codec estimator behind ``task="auto"``: which codec (and level) made a picture, from
its decoded pixels, and which backbone task serves each codec that has no task of its own.

    python recipes/train_task_estimator.py --data ../shared/data/train --vvc-bitstreams ../shared/data/vvc/train \
        --output-dir runs/estimator

The HR photos are split by name (training, validation, held-out, as the other recipes split them)
and degraded with every registered codec at its four standard levels, plus ``clean``. Training sees
every level of every codec, each step drawing its crops' codecs evenly (``clean`` has one version
per photo, the codecs four); each held-out photo keeps one level per codec, drawn with the seed.
Steps see random LR crops at full resolution. The backbone scores each of its tasks on validation
pairs of every codec it has no task for, and the best becomes that codec's fallback. The held-out pictures, seen whole as inference sees them, give the
confusion matrix and accuracy per level in the estimator's card. Under an hour on one CPU thread;
the run is short enough to repeat rather than resume, and writes its folder only at the end.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ucip_adapt.atomic import atomic_write_text
from ucip_adapt.blind.estimator import CodecEstimator, EstimatorConfig
from ucip_adapt.blind.routing import RELATED_CODECS
from ucip_adapt.bundled import DEFAULT_BACKBONE_ID
from ucip_adapt.cards import estimator_card
from ucip_adapt.codecs import get_codec, list_codecs
from ucip_adapt.data import codec_degradations, degraded_pairs, load_hr_images, require_encoders, split_validation
from ucip_adapt.errors import run_reporting_errors
from ucip_adapt.flags import positive_int
from ucip_adapt.modeling.ucip import UCIP
from ucip_adapt.pixels import images_to_tensor
from ucip_adapt.training.evaluation import mean_psnr, score_pairs
from ucip_adapt.training.pairs import materialize_pairs, spread_over_degradations

CLEAN = "clean"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="folder of HR images or a datasets id (default: the scikit-image photos)")
    parser.add_argument("--vvc-bitstreams", default=None, help="pre-encoded VVC bitstreams of --data (layout of ../shared/data/vvc/train)")
    parser.add_argument("--codecs", default=None, help="comma-separated codecs (default: every registered one that can encode here)")
    parser.add_argument("--backbone", default=DEFAULT_BACKBONE_ID, help="the backbone whose fallback tasks are measured")
    parser.add_argument("--steps", type=positive_int, default=8000)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--crop", type=positive_int, default=64, help="LR crop side in training and at inference")
    parser.add_argument("--width", type=positive_int, default=EstimatorConfig.width, help="channels of the last convolution")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--heldout-fraction", type=float, default=0.1)
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--fallback-pairs", type=positive_int, default=16, help="validation pairs per codec that rank the fallback tasks")
    parser.add_argument("--threads", type=positive_int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--output-dir", default="outputs/task-estimator")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error (default: one line)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.time()
    output = Path(args.output_dir)
    if output.exists() and (not output.is_dir() or any(p.name not in ("config.json", "model.safetensors", "README.md") for p in output.iterdir())):
        raise ValueError(f"--output-dir {output} holds other files; choose an empty or new folder.")
    if args.threads:
        torch.set_num_threads(args.threads)
    codecs = args.codecs.split(",") if args.codecs else [name for name in list_codecs() if name != "external"]
    degradations = {codec: codec_degradations([codec], args.vvc_bitstreams) for codec in codecs}
    require_encoders([d for ds in degradations.values() for d in ds])  # before any work
    backbone = UCIP.from_pretrained(args.backbone).eval()

    hr_images = load_hr_images(args.data, cache_dir=args.cache_dir)
    train_hr, validation_hr, heldout_hr = split_validation(hr_images, args.heldout_fraction, args.validation_fraction)
    if min(len(train_hr), len(validation_hr), len(heldout_hr)) == 0:
        raise ValueError(f"{len(hr_images)} images split into {len(train_hr)} / {len(validation_hr)} / {len(heldout_hr)}; "
                         "give more images or change --heldout-fraction / --validation-fraction.")
    pick = random.Random(args.seed)

    def samples(images, every_level: bool) -> list[tuple[np.ndarray, int, int]]:
        """(LR, codec index, level index or -100) per photo and codec: every level, or one drawn per photo."""
        found = []
        for index, codec in enumerate(codecs):
            by_name = defaultdict(list)
            for pair in materialize_pairs(degraded_pairs(images, degradations[codec], cache_dir=args.cache_dir)):
                by_name[pair.name].append((pair.lr, index, _level_index(codec, pair.level)))
            for name in sorted(by_name):
                found.extend(by_name[name] if every_level else [pick.choice(by_name[name])])
        return found

    train = [s for s in samples(train_hr, every_level=True) if min(s[0].shape[:2]) >= args.crop]
    heldout = samples(heldout_hr, every_level=False)
    config = EstimatorConfig(codecs=codecs, num_levels=4, width=args.width, crop=args.crop,
                             fallback_tasks=_fallback_tasks(backbone, codecs, degradations, validation_hr, args))
    estimator = CodecEstimator(config)
    _train(estimator, train, args)
    confusion, per_level = _confusion(estimator, heldout, codecs)
    estimator.save(output)
    card = _card(estimator, confusion, per_level, backbone, args, time.time() - started, len(train))
    atomic_write_text(output / "README.md", card)
    accuracy = np.trace(confusion) / confusion.sum()
    print(f"estimator of {len(codecs)} classes, held-out accuracy {accuracy:.1%} on {len(heldout)} pictures; "
          f"fallbacks {config.fallback_tasks}; wrote {output} in {time.time() - started:.0f} s")
    return 0


def _level_index(codec: str, level: str) -> int:
    if codec == CLEAN:
        return -100  # no level: ignored by the level loss
    return [str(value) for value in get_codec(codec).levels].index(level)


def _fallback_tasks(backbone: UCIP, codecs: list[str], degradations, validation_hr, args) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Codec -> the backbone task with the best validation PSNR-Y on it, for codecs with no task of their own."""
    fallbacks = {}
    for codec in codecs:
        if codec in backbone.tasks or codec in RELATED_CODECS:
            continue
        pairs = spread_over_degradations(materialize_pairs(degraded_pairs(validation_hr, degradations[codec], cache_dir=args.cache_dir)),
                                         args.fallback_pairs)
        scores = {task: mean_psnr(score_pairs(pairs, backbone, task)) for task in backbone.tasks}
        fallbacks[codec] = max(scores, key=scores.get)
        logging.info("%s: %s", codec, ", ".join(f"{task} {score:.3f}" for task, score in scores.items()))
    return fallbacks


def _train(estimator: CodecEstimator, train: list[tuple[np.ndarray, int, int]], args: argparse.Namespace) -> None:
    generator = torch.Generator().manual_seed(args.seed)
    optimizer = torch.optim.AdamW(estimator.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.steps)
    estimator.train()
    by_codec = defaultdict(list)
    for sample in train:
        by_codec[sample[1]].append(sample)
    classes = sorted(by_codec)
    for step in range(1, args.steps + 1):
        crops, codec_targets, level_targets = [], [], []
        for drawn in torch.randint(len(classes), (args.batch_size,), generator=generator).tolist():
            pool = by_codec[classes[drawn]]
            lr, codec, level = pool[int(torch.randint(len(pool), (1,), generator=generator))]
            top = int(torch.randint(lr.shape[0] - args.crop + 1, (1,), generator=generator))
            left = int(torch.randint(lr.shape[1] - args.crop + 1, (1,), generator=generator))
            crops.append(torch.from_numpy(np.array(lr[top : top + args.crop, left : left + args.crop])))
            codec_targets.append(codec)
            level_targets.append(level)
        x = torch.stack(crops).permute(0, 3, 1, 2).float().div(255)
        codec_logits, level_logits = estimator(x)
        levels = torch.tensor(level_targets)
        loss = F.cross_entropy(codec_logits, torch.tensor(codec_targets))
        if (levels >= 0).any():  # clean pictures have no level
            loss = loss + 0.5 * F.cross_entropy(level_logits[levels >= 0], levels[levels >= 0])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 100 == 0 or step == args.steps:
            logging.info("step %d/%d loss %.3f", step, args.steps, loss.item())
    estimator.eval()


def _confusion(estimator: CodecEstimator, pictures: list[tuple[np.ndarray, int, int]], codecs: list[str]):  # type: ignore[no-untyped-def]
    """Confusion counts (true codec x estimated codec) and codec accuracy per (codec, level index)."""
    confusion = np.zeros((len(codecs), len(codecs)), dtype=int)
    per_level: dict[tuple[str, int], list[bool]] = defaultdict(list)
    for lr, codec, level in pictures:
        estimate = estimator.estimate(images_to_tensor([lr])[0])
        guessed = codecs.index(estimate.codec)
        confusion[codec, guessed] += 1
        per_level[(codecs[codec], level)].append(guessed == codec)
    return confusion, per_level


def _card(estimator: CodecEstimator, confusion, per_level, backbone: UCIP, args, seconds: float, train_count: int) -> str:  # type: ignore[no-untyped-def]
    picture = torch.rand(3, 256, 256)
    macs = _macs(lambda: estimator.estimate(picture))
    share = macs / _macs(lambda: backbone(picture[None], task=0))
    config = estimator.config
    cost = (f"at most {config.crops} crops of {config.crop}x{config.crop} per picture: {macs / 1e6:.1f} M multiply-adds on a 256x256 LR, "
            f"{share:.2%} of the backbone's forward on it (torch's FLOP counter)")
    training = (f"{args.steps} steps of {args.batch_size} crops, AdamW {args.lr:g} one-cycle, seed {args.seed}, on {train_count} "
                f"pictures of {args.data or 'the scikit-image photos'} ({seconds / 60:.1f} min on this CPU, all of the recipe)")
    command = "python recipes/train_task_estimator.py " + " ".join(sys.argv[1:])
    return estimator_card(config, sum(p.numel() for p in estimator.parameters()), cost, training, command, confusion, per_level)


def _macs(run) -> float:  # type: ignore[no-untyped-def]
    """Multiply-adds of one call, as torch's FLOP counter counts them (matrix products and convolutions)."""
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops() / 2


if __name__ == "__main__":
    sys.exit(run_reporting_errors("train_task_estimator.py", main, debug="--debug" in sys.argv))
