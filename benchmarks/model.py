"""Cost and CPU speed of each UCIP preset, against this machine's own dense-matmul rate.

    python benchmarks/model.py                 # all presets, 2 threads
    python benchmarks/model.py --presets ucip-small --threads 1

For each preset: parameters, multiply-adds per LR pixel (matmuls and convolutions, counted by
``torch.utils.flop_counter``), the median forward time for 64x64 and 128x128 LR inputs, the
achieved GFLOP/s and its share of the machine's fp32 matmul GFLOP/s measured in the same run;
then the same for one prompt-only training step (forward + backward, only a new pack trainable,
batch 1 at 64x64). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from ucip_adapt import UCIP
from ucip_adapt.config import PRESETS


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def counted_flops(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def matmul_gflops(repeats: int) -> float:
    """The machine's dense fp32 matmul rate (2048 x 2048 x 2048), the efficiency yardstick."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    seconds = median_seconds(lambda: a @ b, repeats, warmup=2)
    return 2 * 2048**3 / seconds / 1e9


def forward_row(model: UCIP, size: int, repeats: int) -> tuple[float, float]:
    """(milliseconds, GFLOP/s) of an inference forward on one size x size LR image."""
    lr = torch.rand(1, 3, size, size)

    def run() -> None:
        with torch.inference_mode():
            model(lr, task=0)

    flops = counted_flops(run)
    seconds = median_seconds(run, repeats)
    return seconds * 1e3, flops / seconds / 1e9


def prompt_step_row(model: UCIP, size: int, repeats: int) -> tuple[float, float]:
    """(milliseconds, GFLOP/s) of forward + backward with only a new prompt pack trainable."""
    model.add_prompts("bench", init_from=0)
    params = model.train_only_prompts("bench")
    lr, hr = torch.rand(1, 3, size, size), torch.rand(1, 3, 4 * size, 4 * size)

    def run() -> None:
        loss = torch.nn.functional.l1_loss(model(lr, task="bench"), hr)
        loss.backward()
        for p in params:
            p.grad = None

    flops = counted_flops(run)
    seconds = median_seconds(run, repeats)
    model.unload_prompts("bench")
    return seconds * 1e3, flops / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    peak = matmul_gflops(args.repeats)
    print(f"dense fp32 matmul: {peak:.1f} GFLOP/s ({args.threads} threads, torch {torch.__version__})\n")
    print("| preset | params | MACs / LR px | fwd 64x64 ms | fwd 128x128 ms | fwd GFLOP/s (128) | fwd eff. | "
          "prompt step 64x64 ms | step GFLOP/s | step eff. |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.presets:
        model = UCIP(PRESETS[name]).eval()
        params = sum(p.numel() for p in model.parameters())
        with torch.inference_mode():
            macs_per_pixel = counted_flops(lambda: model(torch.rand(1, 3, 64, 64), task=0)) / 2 / (64 * 64)
        ms64, _ = forward_row(model, 64, args.repeats)
        ms128, rate128 = forward_row(model, 128, args.repeats)
        step_ms, step_rate = prompt_step_row(model, 64, args.repeats)
        print(f"| {name} | {params:,} | {macs_per_pixel / 1e6:.2f} M | {ms64:.0f} | {ms128:.0f} | {rate128:.1f} | "
              f"{rate128 / peak:.0%} | {step_ms:.0f} | {step_rate:.1f} | {step_rate / peak:.0%} |")


if __name__ == "__main__":
    main()
