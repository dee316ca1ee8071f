"""Tuning runs side by side, from the ``summary.json`` that ``recipes/tune_prompts.py`` writes.

    python benchmarks/tuning_runs.py runs/packs/avif-prompt runs/packs/jxl-prompt
    python benchmarks/tuning_runs.py runs/study/*          # a settings study

One row per output folder: the settings (codec, method, steps, LR crop, learning rate, training
pairs), the state written (the step the validation images chose; 0 is the start task's own
prompts), its validation gain over the start, and the held-out PSNR-Y: bicubic, the start task
(zero-shot), the tuned model and its gain; the trained parameters and the size of the file written.
Wall minutes are the whole run, scoring included. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def run_row(folder: Path) -> str:
    summary: dict[str, Any] = json.loads((folder / "summary.json").read_text())
    psnr, selection = summary["psnr_y"], summary["selection"]
    start = selection["validation_zero_shot"][psnr["best_seen_task"]]
    validation_gain = selection.get("score", start) - start if selection["step"] else 0.0
    crop = summary["patch_size"]
    crop = "/".join(map(str, crop)) if isinstance(crop, list) else str(crop)
    lr = f"{summary['lr']:g}" if "lr" in summary else "-"
    kib = sum(path.stat().st_size for path in (folder / "final").glob("*.safetensors")) / 1024
    return (f"| {folder.name} | {summary['codec']} | {summary['method']} | {summary['steps']} | {crop} | {lr} | {summary['train_pairs']} | "
            f"{selection['step']} | {validation_gain:+.4f} | {psnr['bicubic']:.3f} | {psnr['before']:.3f} (`{psnr['best_seen_task']}`) | "
            f"{psnr['after']:.3f} | **{psnr['after'] - psnr['before']:+.4f}** | {summary['trainable_parameters']:,} | {kib:,.1f} KiB | "
            f"{summary['wall_seconds'] / 60:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="output folders of tune_prompts.py (holding summary.json)")
    args = parser.parse_args()
    missing = [str(folder) for folder in args.runs if not (folder / "summary.json").is_file()]
    if missing:
        parser.error(f"no summary.json in {', '.join(missing)}: give output folders of finished tune_prompts.py runs")
    print("| run | codec | method | steps | crop | lr | training pairs | state written (step) | validation gain | "
          "held-out: bicubic | zero-shot | tuned | **gain** | trained parameters | file | wall min |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for folder in args.runs:
        print(run_row(folder))


if __name__ == "__main__":
    main()
