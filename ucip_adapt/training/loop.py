"""The training loop shared by every recipe (in the spirit of nanoGPT's: one readable function).

L1 loss, Adam with the release's betas, a step-wise lr schedule that is a pure function of the
step, gradient accumulation and mixed precision through Accelerate, EMA of the trainable weights,
periodic validation with the EMA weights (optionally keeping the best state, see
``selection.py``), and atomic checkpoints that ``--resume`` continues
exactly (data are a pure function of the step, see ``batches.py``). With a time budget the loop
times its first steps and then fixes the number of steps that fit (for a lent GPU's minutes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from torch import nn
from tqdm.auto import tqdm

from .batches import PatchBatches
from .checkpoint import TrainingState, check_output_dir, load_checkpoint, save_checkpoint
from .ema import EMA
from .selection import SELECTION_RULES, BestState

ADAM_BETAS = (0.9, 0.99)


@dataclass
class LoopConfig:
    """What the loop needs beyond the model and data (all recipes expose these as flags)."""

    steps: int
    learning_rate: float
    output_dir: str
    checkpoint_every: int = 100
    eval_every: int = 0
    ema_decay: float = 0.999
    lr_halvings: tuple[float, ...] = (1 / 3, 2 / 3)
    resume: bool = False
    time_budget_seconds: float = 0.0
    """When set, ``steps`` becomes the cap, and the run is as many steps as fit in this wall time."""
    select: str = "last"
    """``last``: the recipe writes the final EMA weights; ``best``: the best validated state,
    the starting weights (step 0) included."""
    select_metric: str = "psnr_y"
    """The validation score (higher is better) that ``select="best"`` ranks states by."""


BUDGET_WARMUP_STEPS = 5
"""Steps left out of the time budget's measurement (kernel selection, allocator growth)."""
BUDGET_TIMED_STEPS = 20


def learning_rate_at(step: int, config: LoopConfig) -> float:
    """The release's schedule scaled to ``steps``: halved at each fraction of ``lr_halvings``
    (100k and 200k of 300k)."""
    return config.learning_rate * 0.5 ** sum(step >= fraction * config.steps for fraction in config.lr_halvings)


@dataclass
class LoopResult:
    steps_done: int
    resumed_from: int
    seconds: float
    """Wall time of the whole run, earlier interrupted legs included."""
    cpu_seconds: float
    """CPU time of the main process (all its threads), earlier legs included: the cost that sharing
    the cores with other jobs does not inflate."""
    losses: list[tuple[int, float]]
    evaluations: list[dict[str, Any]]
    best: BestState | None = None
    """The best validated state, with ``select="best"``."""


def train(
    *,
    accelerator: Accelerator,
    model: nn.Module,
    trainable: dict[str, nn.Parameter],
    batches: PatchBatches,
    config: LoopConfig,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    run_info: dict[str, Any] | None = None,
) -> tuple[LoopResult, EMA]:
    """Train ``trainable`` (named parameters of ``model``; everything else must be frozen).

    Returns the loop's record and the EMA; the recipe saves the EMA weights, or ``result.best``'s
    with ``select="best"``. ``evaluate`` is called with the EMA weights swapped in, on every process
    (it should use ``gather_for_metrics``).
    """
    if config.select not in SELECTION_RULES:
        raise ValueError(f"--select must be one of {', '.join(SELECTION_RULES)}, got {config.select!r}")
    if config.select == "best" and evaluate is None:
        raise ValueError("select='best' needs a validation function to rank the states by")
    optimizer = torch.optim.Adam(list(trainable.values()), lr=config.learning_rate, betas=ADAM_BETAS)
    ema = EMA(trainable.items(), config.ema_decay)
    best = BestState(config.select_metric) if config.select == "best" else None
    start_step, losses, evaluations, earlier_seconds, earlier_cpu = _resume(config, trainable, ema, optimizer, best)
    ddp_model, optimizer = accelerator.prepare(model, optimizer)
    ddp_model.train()
    num_micro = accelerator.gradient_accumulation_steps
    progress = tqdm(total=config.steps, initial=start_step, disable=not accelerator.is_main_process, desc="training", dynamic_ncols=True)
    started, cpu_started = time.time(), time.process_time()
    timer_start = started

    def validate(done: int) -> None:
        seconds, cpu_seconds = earlier_seconds + time.time() - started, earlier_cpu + time.process_time() - cpu_started
        scores = evaluate_with_ema(model, ema, evaluate)
        evaluations.append({"step": done, "seconds": seconds, "cpu_seconds": cpu_seconds, **scores})
        accelerator.log({f"val/{k}": v for k, v in scores.items()}, step=done)
        improved = best is not None and best.offer(done, scores, ema.shadow)
        if accelerator.is_main_process:
            progress.write(f"step {done} ({seconds:.0f} s): " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
                           + (" (best so far)" if improved else ""))

    if best is not None and start_step == 0:
        validate(0)  # the starting weights are a candidate: a run that only gets worse writes them back
    for step in range(start_step, config.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, config)
        step_stats = torch.zeros(2, device=accelerator.device)  # L1 loss, MSE of the clamped output
        for micro in range(num_micro):
            batch = batches.micro_batch(step, micro, accelerator.process_index, num_micro, accelerator.num_processes)
            lr, hr = batch.lr.to(accelerator.device), batch.hr.to(accelerator.device)
            with accelerator.accumulate(ddp_model), accelerator.autocast():
                sr = ddp_model(lr, task=batch.tasks).float()
                loss = F.l1_loss(sr, hr)
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            step_stats += torch.stack([loss.detach(), F.mse_loss(sr.detach().clamp(0, 1), hr)]) / num_micro
        ema.update()
        mean_loss, mean_mse = accelerator.reduce(step_stats, reduction="mean").tolist()
        batch_psnr = 10 * math.log10(1.0 / max(mean_mse, 1e-12))
        losses.append((step + 1, mean_loss))
        progress.update(1)
        progress.set_postfix(loss=f"{mean_loss:.4f}", psnr=f"{batch_psnr:.2f}", lr=f"{learning_rate_at(step, config):.1e}")
        accelerator.log({"train/l1": mean_loss, "train/psnr_rgb": batch_psnr, "train/lr": learning_rate_at(step, config)}, step=step + 1)
        done = step + 1
        if config.time_budget_seconds and done == BUDGET_WARMUP_STEPS:
            timer_start = time.time()
        if config.time_budget_seconds and done == BUDGET_WARMUP_STEPS + BUDGET_TIMED_STEPS:
            seconds_per_step = (time.time() - timer_start) / BUDGET_TIMED_STEPS
            config = replace(config, steps=_steps_within_budget(accelerator, config, done, time.time() - started, seconds_per_step))
            progress.total = config.steps
            if accelerator.is_main_process:
                progress.write(f"time budget: {seconds_per_step:.3f} s per step, training {config.steps} steps")
        periodic = bool(config.eval_every) and done % config.eval_every == 0
        if evaluate is not None and (config.eval_every or best is not None) and (periodic or done == config.steps):
            validate(done)
        if done % config.checkpoint_every == 0 or done == config.steps:
            if accelerator.is_main_process:
                save_checkpoint(
                    config.output_dir,
                    TrainingState(
                        step=done,
                        trainable={name: p for name, p in trainable.items()},
                        ema=ema.shadow,
                        optimizer=optimizer.state_dict(),
                        extra={"ema_updates": ema.updates, "losses": losses, "evaluations": evaluations,
                               "seconds": earlier_seconds + time.time() - started,
                               "cpu_seconds": earlier_cpu + time.process_time() - cpu_started,
                               "loop": asdict(config), "run": run_info or {},
                               **({"best": best.record()} if best is not None else {})},
                        best=best.tensors if best is not None else {},
                    ),
                )
            accelerator.wait_for_everyone()
        if done >= config.steps:  # a time budget lowers config.steps below the range's cap
            break
    progress.close()
    wall, cpu = earlier_seconds + time.time() - started, earlier_cpu + time.process_time() - cpu_started
    return LoopResult(config.steps - start_step, start_step, wall, cpu, losses, evaluations, best), ema


def _steps_within_budget(accelerator: Accelerator, config: LoopConfig, done: int, elapsed: float, seconds_per_step: float) -> int:
    """The run's length once timed: what fits in the rest of the budget, capped by ``config.steps``;
    every process takes the smallest count so that all stop together."""
    fitting = done + int((config.time_budget_seconds - elapsed) / seconds_per_step)
    agreed = int(accelerator.gather(torch.tensor([fitting], device=accelerator.device)).min().item())
    return max(done, min(config.steps, agreed))


def evaluate_with_ema(model: nn.Module, ema: EMA, evaluate: Callable[[nn.Module], dict[str, float]]) -> dict[str, float]:
    """Run ``evaluate`` with the EMA weights in place, then put the live weights back."""
    backup = ema.copy_to_params()
    was_training = model.training
    model.eval()
    try:
        return evaluate(model)
    finally:
        ema.restore(backup)
        model.train(was_training)


def _resume(config: LoopConfig, trainable: dict[str, nn.Parameter], ema: EMA, optimizer: torch.optim.Optimizer,
            best: BestState | None):
    """Load the newest checkpoint of ``output_dir`` when resuming; refuse to overwrite a run silently."""
    found = check_output_dir(config.output_dir, config.resume)
    if not config.resume:
        return 0, [], [], 0.0, 0.0
    state = load_checkpoint(found[-1])
    if set(state.trainable) != set(trainable):
        raise ValueError(f"{found[-1]} holds other trainable tensors than this run (different --method or model?)")
    resized = [name for name, p in trainable.items() if state.trainable[name].shape != p.shape]
    if resized:
        raise ValueError(f"{found[-1]} holds {resized[0]} of shape {tuple(state.trainable[resized[0]].shape)}, this run's is "
                         f"{tuple(trainable[resized[0]].shape)}: resume with the run's own --num-prompts / --lora-rank")
    with torch.no_grad():
        for name, p in trainable.items():
            p.copy_(state.trainable[name])
    ema.shadow = {name: t.float() for name, t in state.ema.items()}
    ema.updates = int(state.extra["ema_updates"])
    optimizer.load_state_dict(state.optimizer)
    if state.step > config.steps:
        raise ValueError(f"{found[-1]} is at step {state.step}, past --steps {config.steps}")
    if best is not None:
        if "best" not in state.extra:
            raise ValueError(f"{found[-1]} comes from a run that kept its last state; resume it with --select last")
        best.step, best.score, best.tensors = int(state.extra["best"]["step"]), float(state.extra["best"]["score"]), state.best
    losses = [tuple(x) for x in state.extra["losses"]]
    return (state.step, losses, list(state.extra["evaluations"]), float(state.extra["seconds"]),
            float(state.extra.get("cpu_seconds", 0.0)))

