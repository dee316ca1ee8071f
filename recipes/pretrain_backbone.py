"""Universal training of a UCIP backbone on the seen codecs (all parameters, one task per codec).

    python recipes/pretrain_backbone.py --preset ucip-small --data ../shared/data/train \
        --vvc-bitstreams ../shared/data/vvc/train --steps 20000 --batch-size 16 --patch-size 48
    accelerate launch --multi_gpu --num_processes 8 recipes/pretrain_backbone.py --mixed-precision bf16 ...

    python recipes/pretrain_backbone.py --init-from ucip-adapt/ucip-small-x4 --patch-size 80 --batch-size 2 ...

    python recipes/pretrain_backbone.py --data ... --patch-size 80 --pack-pairs pairs.safetensors   # on a CPU
    python recipes/pretrain_backbone.py --packed-pairs pairs.safetensors --time-budget-minutes 7 \
        --batch-size 32 --patch-size 80 --mixed-precision bf16 ...                                    # on a lent GPU

The release's recipe (L1, Adam 2e-4 with betas 0.9/0.99, lr halved at 1/3 and 2/3 of the run,
EMA 0.999, 8-way flips/rotations), scaled by flags. The same script runs on one CPU, one GPU or
many GPUs/nodes through ``accelerate launch``; ``--resume`` continues an interrupted run exactly.
``--init-from`` starts a new stage from trained weights instead of random ones (a curriculum, e.g.
larger patches once small ones have converged); the stage has its own optimizer and schedule.
Several sizes (``--patch-size 96 128``) take turns step by step, each step drawing from the photos
large enough for its size, so that large crops do not shrink the pool the small ones train on.
The EMA weights are written with ``save_pretrained`` into ``<output-dir>/final``.
``--pack-pairs`` writes the degraded pairs into one compact file and exits; ``--packed-pairs`` trains
from such a file on a machine that has neither the codec libraries nor ``datasets`` (the data
pipeline is imported only when pairs are built from images).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
from pathlib import Path

import torch
from accelerate import Accelerator

from ucip_adapt.cards import training_card
from ucip_adapt.config import SEEN_TASKS, preset
from ucip_adapt.errors import run_reporting_errors
from ucip_adapt.flags import positive_int
from ucip_adapt.modeling.ucip import UCIP
from ucip_adapt.modeling.warm_start import warm_start
from ucip_adapt.training.args import add_training_flags, loop_config, recorded_patch_size
from ucip_adapt.training.batches import PatchBatches
from ucip_adapt.training.evaluation import mean_psnr, score_pairs
from ucip_adapt.training.launch import end_run, make_accelerator
from ucip_adapt.training.loop import train
from ucip_adapt.training.packed_pairs import load_packed_pairs, save_packed_pairs
from ucip_adapt.training.pairs import ImagePair, spread_over_degradations

logger = logging.getLogger("pretrain_backbone")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="ucip-small", help="ucip-tiny, ucip-small or ucip-middle")
    parser.add_argument("--codecs", default=",".join(SEEN_TASKS), help="seen codecs, one task slot each (comma-separated)")
    parser.add_argument("--data", nargs="+", default=None, help="folders of HR images (default: the scikit-image photos)")
    parser.add_argument("--vvc-bitstreams", nargs="+", default=None,
                        help="for each --data folder, the folder of its pre-encoded VVC bitstreams (<folder>/qp<QP>/<stem>.266)")
    parser.add_argument("--init-from", default=None,
                        help="start from this backbone (Hub id or folder) instead of random weights: --preset's body; "
                             "tasks it lacks start from --new-task-init, and an un-anchored one gains the anchor")
    parser.add_argument("--new-task-init", nargs="*", default=["clean=webp"], metavar="TASK=FROM",
                        help="with --init-from, the task of that backbone each new task's prompts start from")
    parser.add_argument("--anchor", choices=["bicubic", "none"], default=None,
                        help="output path: a residual on top of bicubic, or the release's (default: --preset's)")
    parser.add_argument("--pack-pairs", default=None, metavar="FILE",
                        help="write the degraded pairs of --data to FILE (safetensors) and exit, instead of training")
    parser.add_argument("--pack-pairs-per-photo", type=positive_int, default=4,
                        help="degraded versions kept per training photo in --pack-pairs, spread over the codecs")
    parser.add_argument("--pack-max-mib", type=float, default=50.0, help="size budget of --pack-pairs; photos past it are left out")
    parser.add_argument("--packed-pairs", default=None, metavar="FILE", help="train on the pairs of a --pack-pairs file instead of --data")
    parser.add_argument("--heldout-fraction", type=float, default=0.03)
    parser.add_argument("--max-eval-pairs", type=positive_int, default=48)
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the prompted blocks (one graph per crop size, reused by every block and task mix; for a GPU)")
    add_training_flags(parser, steps=20000, batch_size=16, patch_size=48, learning_rate=2e-4, checkpoint_every=250, eval_every=2000)
    args = parser.parse_args(argv)
    if any("=" not in spec for spec in args.new_task_init):
        parser.error(f"--new-task-init takes TASK=FROM pairs (e.g. clean=webp), got {' '.join(args.new_task_init)}")
    if args.packed_pairs and (args.data or args.vvc_bitstreams or args.pack_pairs):
        parser.error("--packed-pairs replaces --data and --vvc-bitstreams, and cannot be packed again")
    args.output_dir = args.output_dir or f"outputs/pretrain-{args.preset}"
    return args


def initial_model(args: argparse.Namespace, codecs: list[str]) -> UCIP:
    """Random weights of ``--preset``, or the ``--init-from`` backbone carried over to that network;
    either way inputs under the largest ``--patch-size`` are mirrored out to it at inference."""
    overrides = {"tasks": codecs, "min_inference_side": max(args.patch_size)}  # smaller inputs are mirrored out to its crops
    if args.anchor is not None:
        overrides["anchor"] = None if args.anchor == "none" else args.anchor
    config = preset(args.preset, **overrides)
    if args.init_from is None:
        return UCIP(config)
    source = UCIP.from_pretrained(args.init_from)
    if source.config == config:
        return source
    try:
        return warm_start(source, config, dict(spec.split("=", 1) for spec in args.new_task_init))
    except ValueError as error:
        raise ValueError(f"--init-from {args.init_from} does not fit --preset {args.preset} with --codecs {','.join(codecs)}: {error} "
                         "(--new-task-init TASK=FROM names where a new task starts)")


def load_pairs(args: argparse.Namespace, codecs: list[str]) -> tuple[list[ImagePair], list[ImagePair]]:
    """Training and held-out pairs of every (data folder, codec, level), decoded into memory; the
    held-out ones thinned to ``--max-eval-pairs``, every degradation in turn."""
    from ucip_adapt.data import codec_degradations, degraded_pairs, load_hr_images, split_heldout
    from ucip_adapt.training.pairs import materialize_pairs

    folders = args.data or [None]
    bitstreams = args.vvc_bitstreams or [None] * len(folders)
    if len(bitstreams) != len(folders):
        raise ValueError("--vvc-bitstreams needs one folder per --data folder")
    train_pairs, heldout_pairs = [], []
    for folder, vvc in zip(folders, bitstreams):
        hr_train, hr_heldout = split_heldout(load_hr_images(folder, cache_dir=args.cache_dir), args.heldout_fraction)
        degradations = codec_degradations(codecs, vvc)
        train_pairs += materialize_pairs(degraded_pairs(hr_train, degradations, cache_dir=args.cache_dir, num_proc=args.num_proc),
                                         min_lr_size=min(args.patch_size))
        heldout_pairs += materialize_pairs(degraded_pairs(hr_heldout, degradations, cache_dir=args.cache_dir, num_proc=args.num_proc))
    heldout_pairs = spread_over_degradations(heldout_pairs, args.max_eval_pairs)
    if not heldout_pairs:
        raise ValueError(f"--heldout-fraction {args.heldout_fraction} holds out no image of {args.data}; raise it.")
    return train_pairs, heldout_pairs


def data_description(args: argparse.Namespace) -> str:
    """Where the HR photos came from, for the summary and the model card."""
    return ", ".join(args.data or ["scikit-image photos"])


def pack_pairs(args: argparse.Namespace, codecs: list[str]) -> None:
    """``--pack-pairs``: the pairs of ``--data`` into one file, the HR photos as their source files where possible."""
    from ucip_adapt.data import image_files

    train_pairs, heldout = load_pairs(args, codecs)
    hr_files = {name: path for folder in args.data or [] for name, path in image_files(folder).items()}
    summary = save_packed_pairs(args.pack_pairs, train_pairs, heldout, source=data_description(args), hr_files=hr_files,
                                pairs_per_photo=args.pack_pairs_per_photo, max_bytes=int(args.pack_max_mib * 2**20), seed=args.seed)
    print(f"wrote {args.pack_pairs}: {summary.bytes / 2**20:.1f} MiB, {summary.train_pairs} training pairs of {summary.train_photos} "
          f"photos ({summary.photos_left_out} left out by --pack-max-mib), {summary.heldout_pairs} held-out pairs")


def packed_pairs(args: argparse.Namespace) -> tuple[list[ImagePair], list[ImagePair], str]:
    """``--packed-pairs``: the pairs of a pack, checked to be large enough for every ``--patch-size``."""
    train_pairs, heldout, source = load_packed_pairs(args.packed_pairs)
    smallest, patch = min(min(pair.lr.shape[:2]) for pair in train_pairs), min(args.patch_size)
    if smallest < patch:
        raise ValueError(f"{args.packed_pairs} holds LR images of {smallest} pixels on a side, under --patch-size "
                         f"{patch}: pass --patch-size {smallest} or pack again with --patch-size {patch}.")
    return train_pairs, heldout, f"{source} (packed in {Path(args.packed_pairs).name})"


def heldout_psnr(model: torch.nn.Module, heldout: list[ImagePair], accelerator: Accelerator | None = None) -> float:
    """Mean held-out PSNR-Y, run eagerly: the held-out photos come in many sizes, and compiled
    blocks would compile a graph for each of them."""
    with torch.compiler.set_stance("force_eager"):
        return mean_psnr(score_pairs(heldout, model, accelerator=accelerator))


def hardware(accelerator: Accelerator) -> str:
    """The training hardware for the card: GPU model, or CPU architecture and threads."""
    if accelerator.device.type == "cuda":
        return f"{accelerator.num_processes} x {torch.cuda.get_device_name(accelerator.device)}"
    return f"{accelerator.num_processes} x {accelerator.device.type} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    codecs = [c for c in args.codecs.split(",") if c]
    if args.pack_pairs:
        pack_pairs(args, codecs)
        return 0
    config = loop_config(args)  # flags and --output-dir checked before any data is degraded
    accelerator = make_accelerator(mixed_precision=args.mixed_precision, gradient_accumulation_steps=args.gradient_accumulation_steps,
                                   project_dir=args.output_dir, log_with=args.log_with, threads=args.threads)
    model = initial_model(args, codecs)
    if args.packed_pairs:
        train_pairs, heldout, data = packed_pairs(args)
    else:
        with accelerator.main_process_first():
            train_pairs, heldout = load_pairs(args, codecs)
        data = data_description(args)
    if accelerator.is_main_process:
        print(f"{len(train_pairs)} training pairs, {len(heldout)} held-out pairs, {sum(p.numel() for p in model.parameters()):,} parameters")
    model.to(accelerator.device)
    trainable = dict(model.named_parameters())
    if args.compile:
        # Static graphs, one per crop size: under bf16 autocast, inductor (torch 2.13) fails to
        # compile the dynamic-shape backward it tries once a second size arrives.
        model.compile_blocks(dynamic=False)

    def evaluate(net) -> dict[str, float]:
        return {"psnr_y": heldout_psnr(net, heldout, accelerator)}

    batches = PatchBatches(train_pairs, batch_size=args.batch_size, patch_sizes=args.patch_size, seed=args.seed)
    result, ema = train(accelerator=accelerator, model=model, trainable=trainable, batches=batches,
                        config=config, evaluate=evaluate, run_info={"preset": args.preset, "codecs": codecs})
    if accelerator.is_main_process:
        model = accelerator.unwrap_model(model, keep_fp32_wrapper=False)  # scored and saved in float32, no autocast
        ema.copy_to_params()
        model.eval()
        summary = {
            "argv": sys.argv[1:] if argv is None else list(argv), "preset": args.preset, "codecs": codecs,
            "init_from": args.init_from, "launcher": "python" if accelerator.num_processes == 1 else
                        f"accelerate launch --multi_gpu --num_processes {accelerator.num_processes}",
            "data": data, "train_pairs": len(train_pairs), "steps": result.resumed_from + result.steps_done,
            "batch_size": args.batch_size, "patch_size": recorded_patch_size(args.patch_size), "mixed_precision": args.mixed_precision,
            "hardware": hardware(accelerator),
            "wall_seconds": result.seconds, "cpu_seconds": result.cpu_seconds,
            "heldout_psnr_y": heldout_psnr(model, heldout),
            "heldout_bicubic_psnr_y": mean_psnr(score_pairs(heldout)),
            "losses": result.losses, "evaluations": result.evaluations,
        }
        final = Path(args.output_dir) / "final"
        model.save_pretrained(final, model_card_kwargs={"extra_markdown": training_card(summary)})
        (Path(args.output_dir) / "summary.json").write_text(json.dumps(summary, indent=2))
        print(f"wrote {final}: held-out PSNR-Y {summary['heldout_psnr_y']:.2f} dB (bicubic {summary['heldout_bicubic_psnr_y']:.2f} dB)")
    end_run(accelerator)
    return 0


if __name__ == "__main__":
    sys.exit(run_reporting_errors("pretrain_backbone.py", main, debug="--debug" in sys.argv))
