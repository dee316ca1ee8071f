"""Building the ``Accelerator`` and refusing launch states that would silently train wrong.

On a CPU-only machine DDP needs ``Accelerator(cpu=True)`` and ``accelerate launch --multi_gpu``:
plain ``--num_processes 2`` starts one process, and fp16 autocast is a silent no-op on CPU.
"""

from __future__ import annotations

import os

import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration


class LaunchError(RuntimeError):
    """The launch configuration would train something other than what was asked for."""


def check_precision(mixed_precision: str, use_cuda: bool) -> None:
    """Allow ``no`` and ``bf16`` everywhere, ``fp16`` only on a GPU."""
    if mixed_precision not in ("no", "bf16", "fp16"):
        raise LaunchError(f"--mixed-precision must be no, bf16 or fp16, got {mixed_precision!r}")
    if mixed_precision == "fp16" and not use_cuda:
        raise LaunchError("--mixed-precision fp16 does nothing on CPU (autocast ignores it); use bf16 or no.")


def make_accelerator(
    *, mixed_precision: str, gradient_accumulation_steps: int, project_dir: str, log_with: str | None = None
) -> Accelerator:
    """An Accelerator for this machine: CPU (gloo DDP) without CUDA, GPUs otherwise.

    Raises:
        LaunchError: fp16 on CPU, several processes requested but one started, or processes that
            would not synchronise.
    """
    use_cuda = torch.cuda.is_available()
    check_precision(mixed_precision, use_cuda)
    accelerator = Accelerator(
        cpu=not use_cuda,
        mixed_precision=mixed_precision,
        gradient_accumulation_steps=gradient_accumulation_steps,
        log_with=log_with,
        project_config=ProjectConfiguration(project_dir=project_dir, logging_dir=os.path.join(project_dir, "logs")),
    )
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1 and accelerator.num_processes != world_size:
        raise LaunchError(
            f"{world_size} processes were launched but they do not form one DDP group "
            f"(each sees {accelerator.num_processes}); they would train unsynchronised copies."
        )
    if "ACCELERATE_USE_CPU" in os.environ and "MASTER_ADDR" in os.environ and "WORLD_SIZE" not in os.environ:
        raise LaunchError(
            "accelerate launch was asked for several processes but started one: on a CPU-only machine add "
            "--multi_gpu (accelerate launch --multi_gpu --num_processes N ...)."
        )
    return accelerator
