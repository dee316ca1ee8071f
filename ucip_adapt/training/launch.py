"""Building the ``Accelerator`` and refusing launch states that would silently train wrong.

On a CPU-only machine DDP needs ``Accelerator(cpu=True)`` and ``accelerate launch --multi_gpu``:
plain ``--num_processes 2`` starts one process, and fp16 autocast is a silent no-op on CPU. A bare
``accelerate launch`` there (no config, no GPU) also starts its one process with
``OMP_NUM_THREADS=1``, so a CPU run would use one core of the machine; `cpu_threads` undoes that.
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


def cpu_threads(requested: int | None, num_processes: int) -> int | None:
    """PyTorch threads for a CPU process: ``requested`` if given; every core this process may use
    when it is the only process and ``accelerate launch`` gave it one thread (its default without a
    config or GPU); otherwise None, leaving ``OMP_NUM_THREADS`` or PyTorch's own choice."""
    if requested is not None:
        return requested
    launched_by_accelerate = "ACCELERATE_MIXED_PRECISION" in os.environ
    if num_processes == 1 and launched_by_accelerate and os.environ.get("OMP_NUM_THREADS") == "1":
        return usable_cores()
    return None


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform has one, as in containers)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def make_accelerator(
    *, mixed_precision: str, gradient_accumulation_steps: int, project_dir: str, log_with: str | None = None,
    threads: int | None = None,
) -> Accelerator:
    """An Accelerator for this machine: CPU (gloo DDP) without CUDA, GPUs otherwise. On a CPU,
    PyTorch runs ``threads`` threads per process (see :func:`cpu_threads` for the default).

    Raises:
        LaunchError: fp16 on CPU, fewer than one thread, several processes requested but one
            started, or processes that would not synchronise.
    """
    use_cuda = torch.cuda.is_available()
    check_precision(mixed_precision, use_cuda)
    if threads is not None and threads < 1:
        raise LaunchError(f"--threads must be at least 1, got {threads}")
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
    if accelerator.device.type == "cpu" and (chosen := cpu_threads(threads, accelerator.num_processes)) is not None:
        torch.set_num_threads(chosen)
    return accelerator


def end_run(accelerator: Accelerator) -> None:
    """Close the run on every rank together. A rank that tears its gloo group down while the main
    process is still saving can abort at exit ("terminate called without an active exception"),
    failing a run whose outputs are fine; waiting first makes every rank leave at the same point."""
    accelerator.wait_for_everyone()
    accelerator.end_training()
