"""Command-line flags shared by the training recipes, and their translation to the loop config."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..flags import non_negative_int, positive_int
from .checkpoint import check_output_dir
from .loop import LoopConfig


def add_training_flags(parser: argparse.ArgumentParser, *, steps: int | None, batch_size: int, patch_size: int | None,
                       learning_rate: float | None, checkpoint_every: int, eval_every: int | None) -> None:
    """Add the flags every recipe has, with recipe-specific defaults; a default of None is one the
    recipe fills after parsing (tune_prompts.py's follow ``--data``)."""
    group = parser.add_argument_group("training")
    group.add_argument("--steps", type=positive_int, default=steps, help="optimizer steps")
    group.add_argument("--batch-size", type=positive_int, default=batch_size,
                       help="crops per optimizer step over all processes and accumulation steps (the effective batch)")
    group.add_argument("--patch-size", type=positive_int, nargs="+", default=None if patch_size is None else [patch_size],
                       help="LR crop size (HR is 4x); several sizes (e.g. 96 128) take turns, one size per optimizer step")
    group.add_argument("--lr", type=float, default=learning_rate, help="Adam learning rate (betas 0.9, 0.99); tune_prompts.py picks one per --method when omitted")
    group.add_argument("--gradient-accumulation-steps", type=positive_int, default=1)
    group.add_argument("--mixed-precision", choices=["no", "bf16", "fp16"], default="no", help="fp16 is refused on CPU")
    group.add_argument("--ema-decay", type=float, default=0.999)
    group.add_argument("--checkpoint-every", type=positive_int, default=checkpoint_every)
    group.add_argument("--eval-every", type=non_negative_int, default=eval_every, help="validate every N steps (0: only at the end)")
    group.add_argument("--time-budget-minutes", type=float, default=0.0,
                       help="train as many steps as fit in this wall time (timed on the first steps; --steps is the cap)")
    group.add_argument("--threads", type=positive_int, default=None,
                       help="CPU threads per process (default: every core for a single process, which a bare "
                            "`accelerate launch` would give one; with several processes, OMP_NUM_THREADS)")
    group.add_argument("--seed", type=int, default=0)
    group.add_argument("--output-dir", default=None)
    group.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output-dir")
    group.add_argument("--log-with", default=None, help="an Accelerate tracker, e.g. tensorboard")
    group.add_argument("--num-proc", type=positive_int, default=None, help="processes for the one-time degradation of the data")
    group.add_argument("--cache-dir", default=None, help="where degraded pairs are cached (default: the datasets cache)")
    group.add_argument("--debug", action="store_true", help="print the traceback of an error (default: one line)")


def recorded_patch_size(sizes: Sequence[int]) -> int | list[int]:
    """``--patch-size`` as run records keep it: one size as a number (as every earlier record has it), several as a list."""
    return sizes[0] if len(sizes) == 1 else list(sizes)


def loop_config(args: argparse.Namespace, *, select: str = "last") -> LoopConfig:
    """The loop's configuration from the shared flags, checked before any data is read (see
    :func:`~ucip_adapt.training.checkpoint.check_output_dir`); ``select`` is the recipe's rule
    for the state it writes (see ``selection.py``)."""
    if args.time_budget_minutes and args.resume:
        raise ValueError("--time-budget-minutes fixes the step count of a new run; resume with --steps set to the steps it chose "
                         "(in the run's log and summary.json) instead.")
    check_output_dir(args.output_dir, args.resume)
    return LoopConfig(
        steps=args.steps,
        learning_rate=args.lr,
        output_dir=args.output_dir,
        checkpoint_every=args.checkpoint_every,
        eval_every=args.eval_every,
        ema_decay=args.ema_decay,
        resume=args.resume,
        time_budget_seconds=60 * args.time_budget_minutes,
        select=select,
    )
