"""The README's quality tables, printed from the JSONs of ``recipes/evaluate.py``.

    python benchmarks/quality_summary.py docs/results/quality-seen.json docs/results/quality-clean.json
    python benchmarks/quality_summary.py docs/results/packs-*.json

Seen codecs (``backbone`` rows): per evaluation set, bicubic PSNR-Y, the backbone's gain over
bicubic per codec (mean of its levels), the mean and the lowest of all compressed rows, the mean
SSIM-Y gain, and the ``clean`` row (uncompressed input). Unseen codecs (``pack:<codec>`` rows):
per set and codec, the gain of the zero-shot task, of the pack and of any LoRA / full fine-tuning
scored beside it, averaged over the levels, then the pack's gain over zero-shot and its share of full
fine-tuning's.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from statistics import mean

from ucip_adapt.quality import Gain, pack_share, read_gains

METHODS = ("zero_shot", "pack", "lora", "full")


def seen_table(gains: list[Gain]) -> list[str]:
    compressed = [gain for gain in gains if gain.model == "backbone" and gain.codec != "clean"]
    clean = {gain.data_set: gain for gain in gains if gain.model == "backbone" and gain.codec == "clean"}
    codecs = list(dict.fromkeys(gain.codec for gain in compressed))
    lines = [
        f"| set | bicubic PSNR-Y | {' | '.join(codecs)} | **mean** | lowest | SSIM-Y gain | clean: bicubic | **clean** |",
        "|---|---|" + "---|" * len(codecs) + "---|---|---|---|---|",
    ]
    for data_set in dict.fromkeys(gain.data_set for gain in [*compressed, *clean.values()]):
        rows = [gain for gain in compressed if gain.data_set == data_set]
        clean_cells = f"{clean[data_set].bicubic_psnr_y:.2f} | **{clean[data_set].psnr_y:+.2f}**" if data_set in clean else "- | -"
        if not rows:
            lines.append(f"| {data_set} | - |" + " - |" * len(codecs) + f" - | - | - | {clean_cells} |")
            continue
        lowest = min(rows, key=lambda gain: gain.psnr_y)
        per_codec = " | ".join(f"{mean(g.psnr_y for g in rows if g.codec == codec):+.2f}" for codec in codecs)
        lines.append(
            f"| {data_set} | {mean(g.bicubic_psnr_y for g in rows):.2f} | {per_codec} | **{mean(g.psnr_y for g in rows):+.2f}** | "
            f"{lowest.psnr_y:+.2f} ({lowest.codec} {lowest.level}) | {mean(g.ssim_y for g in rows):+.4f} | {clean_cells} |"
        )
    return lines


def pack_table(gains: list[Gain]) -> list[str]:
    by_key: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for gain in gains:
        method = gain.model.split(":")[0]
        if method in METHODS:
            by_key[(gain.data_set, gain.codec)][method].append(gain.psnr_y)
    lines = ["| set | codec | " + " | ".join(f"{method} - bicubic" for method in METHODS) + " | **pack - zero-shot** | pack / full |",
             "|---|---|" + "---|" * (len(METHODS) + 2)]
    for (data_set, codec), methods in by_key.items():
        means = {method: mean(scores) for method, scores in methods.items() if scores}
        cells = " | ".join(f"{means[m]:+.3f}" if m in means else "-" for m in METHODS)
        delta = f"**{means['pack'] - means['zero_shot']:+.3f}**" if {"pack", "zero_shot"} <= means.keys() else "-"
        share = (pack_share(means["pack"] - means["zero_shot"], means["full"] - means["zero_shot"])
                 if {"pack", "zero_shot", "full"} <= means.keys() else "-")
        lines.append(f"| {data_set} | {codec} | {cells} | {delta} | {share} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="JSONs written by recipes/evaluate.py --out")
    args = parser.parse_args()
    try:
        gains = read_gains(args.results)
    except FileNotFoundError as error:
        parser.error(str(error))
    if any(gain.model == "backbone" for gain in gains):
        print("\n".join(seen_table(gains)) + "\n")
    if any(gain.model.startswith("pack:") for gain in gains):
        print("\n".join(pack_table(gains)))


if __name__ == "__main__":
    main()
