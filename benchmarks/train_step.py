"""Speed of one backbone training step, per batch size: LR pixels per second, on the GPU or the CPU.

    python benchmarks/train_step.py                                   # GPU: ucip-middle, batches 8 16 32, 96x96, bf16
    python benchmarks/train_step.py --preset ucip-small --batch-sizes 32 64 --patch-size 128
    python benchmarks/train_step.py --preset ucip-small --batch-sizes 2 4 --threads 2     # CPU: fp32, 2 threads
    PYTHONPATH=../old-checkout python benchmarks/train_step.py ...                       # an earlier version, same machine

One step as ``recipes/pretrain_backbone.py`` takes it: L1 loss, Adam (betas 0.9, 0.99), a batch that
mixes the seen tasks, on random data (speed does not depend on the pixels), eager mode unless
``--compile`` (the prompted blocks, as ``pretrain_backbone.py --compile``). On a GPU
under bf16 autocast; on a CPU in fp32, the precision CPU training uses (these CPUs have no bf16
units). Per batch size: seconds per step (median of the steps after the warm-up), LR pixels per
second and peak GPU memory, or "out of memory". Prints a Markdown table. It tells how long a
schedule takes, and which batch fits, before the hardware is spent.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ucip_adapt.config import PRESETS, SEEN_TASKS, preset
from ucip_adapt.modeling.ucip import UCIP
from ucip_adapt.training.loop import ADAM_BETAS


def time_steps(model: UCIP, batch_size: int, patch_size: int, steps: int, warmup: int, device: torch.device, bf16: bool) -> float:
    """Median seconds per training step after ``warmup`` untimed ones."""
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4, betas=ADAM_BETAS)
    generator = torch.Generator().manual_seed(0)
    lr = torch.rand(batch_size, 3, patch_size, patch_size, generator=generator).to(device)
    hr = torch.rand(batch_size, 3, patch_size * 4, patch_size * 4, generator=generator).to(device)
    tasks = [SEEN_TASKS[i % len(SEEN_TASKS)] for i in range(batch_size)]
    times = []
    for _ in range(warmup + steps):
        synchronize(device)
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = (model(lr, task=tasks).float() - hr).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[warmup:])


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that wall-clock times measure it."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="ucip-middle", choices=sorted(PRESETS))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--patch-size", type=int, default=96, help="LR crop size")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per batch size")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: PyTorch's choice)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the prompted blocks, one static graph")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = device.type == "cuda"
    config = preset(args.preset, tasks=list(SEEN_TASKS))
    hardware = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    mode = "blocks compiled" if args.compile else "eager"
    print(f"{args.preset}, LR {args.patch_size}x{args.patch_size}, {'bf16 autocast' if bf16 else 'fp32'}, {mode}, on {hardware}\n")
    print("| batch | s / step | K LR pixels / s | peak GPU memory |")
    print("|---|---|---|---|")
    for batch_size in args.batch_sizes:
        torch.manual_seed(0)
        model = UCIP(config).to(device).train()
        if args.compile:
            model.compile_blocks(dynamic=False)
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        try:
            seconds = time_steps(model, batch_size, args.patch_size, args.steps, args.warmup, device, bf16)
        except torch.OutOfMemoryError:
            print(f"| {batch_size} | out of memory | | |")
            continue
        finally:
            del model
        peak = f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if device.type == "cuda" else "n/a"
        pixels = batch_size * args.patch_size**2 / seconds / 1e3
        print(f"| {batch_size} | {seconds:.3f} | {pixels:.2f} | {peak} |")


if __name__ == "__main__":
    main()
