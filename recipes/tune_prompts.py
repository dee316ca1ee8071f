"""Learn a prompt pack that adapts a frozen UCIP backbone to a codec it has never seen.

    accelerate launch recipes/tune_prompts.py --codec avif
    accelerate launch --multi_gpu --num_processes 2 recipes/tune_prompts.py --codec jxl --data /data/hr
    python recipes/tune_prompts.py --codec avif --method lora      # the comparison methods

The run degrades the HR images with the codec at its levels (cached) and splits the images three
ways by name: training, validation and held-out. The seen task that scores best on the validation
images starts the new prompts; the run trains ONLY the new basic prompts and coefficient heads,
scores the start and the EMA state at every evaluation on the validation images, and writes the best
of them (``--select best``; a pack that cannot beat its start is that start, and the run says so)
with its model card and metadata into ``<output-dir>/final``. Numbers are reported on the held-out
images, which chose nothing.

Each step sees 2 LR crops rather than more, smaller ones of the same pixels: the network normalises
with statistics of its whole input (instance norm, fusion means), and crops closer to a whole photo
make a pack that carries over to whole photos. Images whose LR is under ``--patch-size`` are
skipped, with a count. The defaults follow the data (``ucip_adapt/training/tuning_defaults.py``):
without ``--data``, the quick start's 100 steps of 96-pixel crops at learning rate 2e-4 (a few
photos, where a larger step follows the noise of the crops); with ``--data``, the shipped packs'
300 steps of 112-pixel crops at 2e-3, validated every 100 steps (docs/results/pack-settings.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

from ucip_adapt.bundled import DEFAULT_BACKBONE_ID
from ucip_adapt.atomic import atomic_write_text
from ucip_adapt.data import degraded_pairs, load_hr_images, parse_degradations, split_validation
from ucip_adapt.errors import run_reporting_errors
from ucip_adapt.flags import positive_int
from ucip_adapt.modeling.ucip import UCIP
from ucip_adapt.training.args import add_training_flags, loop_config, recorded_patch_size
from ucip_adapt.training.batches import PatchBatches
from ucip_adapt.training.ema import swap_in
from ucip_adapt.training.evaluation import mean_psnr, score_pairs
from ucip_adapt.training.launch import end_run, make_accelerator
from ucip_adapt.training.loop import train
from ucip_adapt.training.methods import METHODS, setup_method
from ucip_adapt.training.pairs import materialize_pairs, spread_over_degradations
from ucip_adapt.training.selection import SELECTION_RULES
from ucip_adapt.training.tuning_defaults import fill_data_dependent_flags

logger = logging.getLogger("tune_prompts")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codec", required=True, help="registered codec to adapt to (e.g. avif, jxl, jpeg2000)")
    parser.add_argument("--levels", default=None, help="comma-separated codec levels (default: the codec's four)")
    parser.add_argument("--data", default=None, help="folder of HR images, a datasets dataset id (default: the scikit-image photos)")
    parser.add_argument("--backbone", default=DEFAULT_BACKBONE_ID, help="backbone repo id or folder")
    parser.add_argument("--method", choices=METHODS, default="prompt", help="prompt (the product), lora or full (comparisons)")
    parser.add_argument("--lora-rank", type=positive_int, default=8)
    parser.add_argument("--num-prompts", type=positive_int, default=None,
                        help="basic prompts per stage of a pack (default: the backbone's); more trains a larger pack")
    parser.add_argument("--heldout-fraction", type=float, default=0.1, help="share of the images held out for the reported PSNR before/after")
    parser.add_argument("--validation-fraction", type=float, default=0.15,
                        help="share of the images that choose the starting task and the state written (see --select)")
    parser.add_argument("--select", choices=SELECTION_RULES, default="best",
                        help="best: write the best validated state, the start included; last: the final EMA state")
    parser.add_argument("--max-eval-pairs", type=positive_int, default=60,
                        help="validation and held-out pairs scored, at most each (spread over the levels)")
    add_training_flags(parser, steps=None, batch_size=2, patch_size=None, learning_rate=None, checkpoint_every=50, eval_every=None)
    args = parser.parse_args(argv)
    fill_data_dependent_flags(args)
    args.output_dir = args.output_dir or f"outputs/tune-{args.codec}-{args.method}"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = loop_config(args, select=args.select)  # flags and --output-dir checked before any data is degraded
    accelerator = make_accelerator(mixed_precision=args.mixed_precision, gradient_accumulation_steps=args.gradient_accumulation_steps,
                                   project_dir=args.output_dir, log_with=args.log_with, threads=args.threads)
    started = time.time()
    backbone = UCIP.from_pretrained(args.backbone)
    if args.codec in backbone.tasks:
        raise ValueError(f"{args.codec!r} is already a task of this backbone ({backbone.tasks}); prompt packs are for unseen codecs.")
    if args.num_prompts is not None and args.num_prompts < backbone.config.num_prompts:
        raise ValueError(f"--num-prompts {args.num_prompts}: a pack has at least this backbone's {backbone.config.num_prompts} basic prompts; "
                         f"pass {backbone.config.num_prompts} or more.")
    degradations = [replace(d, task=args.codec) for d in parse_degradations([f"{args.codec}:{args.levels}" if args.levels else args.codec])]
    levels = [d.level for d in degradations]

    hr_images = load_hr_images(args.data, cache_dir=args.cache_dir)
    train_hr, validation_hr, heldout_hr = split_validation(hr_images, args.heldout_fraction, args.validation_fraction)
    if min(len(train_hr), len(validation_hr), len(heldout_hr)) == 0:
        raise ValueError(f"--heldout-fraction {args.heldout_fraction} and --validation-fraction {args.validation_fraction} split the "
                         f"{len(hr_images)} images into {len(train_hr)} training, {len(validation_hr)} validation and "
                         f"{len(heldout_hr)} held-out; change them so that each part has an image.")

    def pairs_of(images, **kwargs):
        return materialize_pairs(degraded_pairs(images, degradations, cache_dir=args.cache_dir, num_proc=args.num_proc), **kwargs)

    with accelerator.main_process_first():
        train_pairs = pairs_of(train_hr, min_lr_size=min(args.patch_size))
        validation = spread_over_degradations(pairs_of(validation_hr), args.max_eval_pairs)
        heldout = spread_over_degradations(pairs_of(heldout_hr), args.max_eval_pairs)

    backbone.to(accelerator.device).eval()
    validation_zero_shot = {task: mean_psnr(score_pairs(validation, backbone, task, accelerator)) for task in backbone.tasks}
    best_seen = max(validation_zero_shot, key=validation_zero_shot.get)
    zero_shot = {task: mean_psnr(score_pairs(heldout, backbone, task, accelerator)) for task in backbone.tasks}
    bicubic = mean_psnr(score_pairs(heldout))
    setup = setup_method(args.method, backbone, args.codec, best_seen, lora_rank=args.lora_rank, num_prompts=args.num_prompts)

    def evaluate(model) -> dict[str, float]:
        return {"psnr_y": mean_psnr(score_pairs(validation, model, setup.task, accelerator))}

    train_pairs = [replace(pair, task=setup.task) for pair in train_pairs]  # lora/full train the best seen task
    batches = PatchBatches(train_pairs, batch_size=args.batch_size, patch_sizes=args.patch_size, seed=args.seed)
    run_info = {"codec": args.codec, "levels": levels, "method": args.method, "backbone": args.backbone, "data": args.data or "scikit-image photos"}
    result, ema = train(accelerator=accelerator, model=setup.model, trainable=setup.trainable, batches=batches,
                        config=config, evaluate=evaluate, run_info=run_info)
    written = result.best.tensors if result.best is not None else ema.shadow
    backup = swap_in(setup.trainable, written)  # scored and saved, then the live weights go back
    setup.model.eval()
    after = mean_psnr(score_pairs(heldout, setup.model, setup.task, accelerator))
    final_step = result.resumed_from + result.steps_done
    selected = result.best.record() if result.best is not None else {"metric": "psnr_y", "step": final_step}

    summary = {
        **run_info,
        "steps": args.steps, "batch_size": args.batch_size, "patch_size": recorded_patch_size(args.patch_size), "lr": args.lr, "seed": args.seed,
        "train_images": len(train_hr), "validation_images": len(validation_hr), "heldout_images": len(heldout_hr),
        "train_pairs": len(train_pairs), "validation_pairs": len(validation), "heldout_pairs": len(heldout),
        "trainable_parameters": sum(p.numel() for p in setup.trainable.values()),
        "selection": {"rule": args.select, **selected, "validation_zero_shot": validation_zero_shot},
        "psnr_y": {"bicubic": bicubic, "zero_shot": zero_shot, "best_seen_task": best_seen, "before": zero_shot[best_seen], "after": after},
        "wall_seconds": time.time() - started,
        "losses": result.losses, "evaluations": result.evaluations,
    }
    if accelerator.is_main_process:
        final = Path(args.output_dir) / "final"
        artifact = setup.save(final, {k: v for k, v in summary.items() if k not in ("losses", "evaluations")})
        atomic_write_text(Path(args.output_dir) / "summary.json", json.dumps(summary, indent=2))
        print(f"\n{args.method} for {args.codec} (levels {levels}) on {len(train_hr)} images, {args.steps} steps in {summary['wall_seconds']:.0f} s")
        print(selection_line(args.select, selected["step"], final_step, best_seen))
        print(f"held-out PSNR-Y ({len(heldout)} pairs): bicubic {bicubic:.2f} dB | zero-shot best seen task '{best_seen}' "
              f"{zero_shot[best_seen]:.2f} dB | after tuning {after:.2f} dB ({after - zero_shot[best_seen]:+.2f} dB)")
        print(f"wrote {artifact} ({artifact.stat().st_size / 1024:.1f} KiB, {summary['trainable_parameters']:,} trained parameters)")
    swap_in(setup.trainable, backup)
    end_run(accelerator)
    return 0


def selection_line(rule: str, step: int, final_step: int, start_task: str) -> str:
    """What the run wrote, in words: the final state, a better state of the run, or its start."""
    if rule == "last":
        return f"wrote the final EMA state (step {final_step}, --select last)"
    if step == 0:
        return (f"nothing beat the start on the validation images: zero-shot with task '{start_task}' is as good, "
                "so this pack only repeats it and there is nothing to ship")
    return f"wrote the best validated state: step {step} of {final_step}"


if __name__ == "__main__":
    sys.exit(run_reporting_errors("tune_prompts.py", main, debug="--debug" in sys.argv))
