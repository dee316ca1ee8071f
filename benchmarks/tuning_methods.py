"""What each tuning method costs on the bundled backbone: trainable tensors, file written, step time.

    python benchmarks/tuning_methods.py                      # batch 2, LR patch 96, 2 threads
    python benchmarks/tuning_methods.py --threads 1 --batch-size 8 --patch-size 48

For ``prompt`` (a pack), ``lora`` (peft, rank 8) and ``full`` fine-tuning, as
``recipes/tune_prompts.py --method`` sets them up: the trainable parameters, the size of what a run
saves, and the median time of one training step (forward, L1 backward, Adam update) on random
tensors of the recipe's default batch and patch. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from model import median_seconds  # benchmarks/model.py
from ucip_adapt import UCIP
from ucip_adapt.bundled import DEFAULT_BACKBONE_ID
from ucip_adapt.training.methods import METHODS, setup_method


def method_row(method: str, backbone_id: str, batch_size: int, patch_size: int, repeats: int) -> str:
    setup = setup_method(method, UCIP.from_pretrained(backbone_id), "bench", init_from="jpeg")
    setup.model.train()
    optimizer = torch.optim.Adam(setup.trainable.values(), lr=1e-4, betas=(0.9, 0.99))
    lr = torch.rand(batch_size, 3, patch_size, patch_size)
    hr = torch.rand(batch_size, 3, 4 * patch_size, 4 * patch_size)

    def step() -> None:
        loss = torch.nn.functional.l1_loss(setup.model(lr, task=setup.task), hr)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    seconds = median_seconds(step, repeats)
    with tempfile.TemporaryDirectory() as out:
        size = setup.save(Path(out), {"codec": "bench"}).stat().st_size
    trainable = sum(p.numel() for p in setup.trainable.values())
    return f"| {method} | {trainable:,} | {size / 1024:,.1f} KiB | {seconds * 1e3:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default=DEFAULT_BACKBONE_ID)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--patch-size", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"{args.backbone}, batch {args.batch_size} x LR {args.patch_size}x{args.patch_size}, "
          f"{args.threads} threads, torch {torch.__version__}\n")
    print("| method | trainable parameters | saved file | step ms |")
    print("|---|---|---|---|")
    for method in args.methods:
        print(method_row(method, args.backbone, args.batch_size, args.patch_size, args.repeats), flush=True)


if __name__ == "__main__":
    main()
