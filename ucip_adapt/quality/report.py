"""The quality table as Markdown: gains per set and codec, then every row, written beside its JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ucip_adapt.atomic import atomic_write_text
from ucip_adapt.quality.rows import baseline_of, method_of


def gain_summary(results: dict) -> list[str]:
    """Per set and codec (and per set over all its codecs), mean PSNR-Y over the levels: the baseline's gain
    over bicubic (the backbone's own task on a seen codec, its best seen task, zero-shot, on an unseen one),
    in SSIM-Y too, each tuned model's gain over that baseline, and the share of full fine-tuning's gain
    that the pack recovers."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for key, row in results["rows"].items():
        set_name, codec, _ = key.split("|")
        groups.setdefault((set_name, codec), []).append(row)
    for set_name in dict.fromkeys(name for name, _ in groups):
        codecs = [codec for name, codec in groups if name == set_name]
        if len(codecs) > 1:
            groups[(set_name, "all")] = [row for codec in codecs for row in groups[(set_name, codec)]]
    means = {group: _mean_scores(rows) for group, rows in groups.items()}
    present = {method for mean in means.values() for method in mean}
    baseline = " / ".join(name for method, name in (("backbone", "backbone"), ("zero_shot", "zero-shot"))
                          if any(method in row for row in results["rows"].values()))
    tuned = [method for method in ("pack", "lora", "full") if method in present]
    with_share = {"pack", "full"} <= present
    lines = ["| set | codec | degradations | bicubic | " + " | ".join([f"{baseline} - bicubic"] + [f"{m} - {baseline}" for m in tuned])
             + f" | SSIM-Y, {baseline} - bicubic" + (" | pack / full |" if with_share else " |"),
             "|---|---|---|---|---|---|" + "---|" * (len(tuned) + with_share)]
    for (set_name, codec), rows in groups.items():
        mean = means[(set_name, codec)]
        reference = mean["baseline"]
        cells = [f"{reference[0] - mean['bicubic'][0]:+.2f}"] + [f"{mean[m][0] - reference[0]:+.3f}" if m in mean else "" for m in tuned]
        cells.append(f"{reference[1] - mean['bicubic'][1]:+.4f}")
        if with_share:
            cells.append(_pack_share(mean, reference[0]))
        lines.append(f"| {set_name} | {codec} | {len(rows)} | {mean['bicubic'][0]:.2f} | " + " | ".join(cells) + " |")
    return lines


def _mean_scores(rows: list[dict]) -> dict[str, tuple[float, float]]:
    """Mean (PSNR-Y, SSIM-Y) of bicubic, of the baseline (each row's backbone or zero-shot) and of each
    model scored on every one of ``rows``."""
    scored = {"bicubic": [row["bicubic"] for row in rows], "baseline": [baseline_of(row) for row in rows]}
    for method in ("pack", "lora", "full"):
        scored[method] = [row[col] for row in rows for col in row if method_of(col) == method]
    return {method: (float(np.mean([s["psnr_y"] for s in scores])), float(np.mean([s["ssim_y"] for s in scores])))
            for method, scores in scored.items() if len(scores) == len(rows)}


def _pack_share(mean: dict[str, tuple[float, float]], reference: float) -> str:
    """:func:`pack_share` of the means of one set and codec; "-" where the pack or full is missing."""
    if not {"pack", "full"} <= mean.keys():
        return "-"
    return pack_share(mean["pack"][0] - reference, mean["full"][0] - reference)


def pack_share(pack_gain: float, full_gain: float) -> str:
    """The pack's gain over the baseline as a share of full fine-tuning's; none where full gains less than
    the 0.001 dB the tables print (a share of a gain that small would be noise, e.g. 28807 %)."""
    return f"{100 * pack_gain / full_gain:.0f} %" if full_gain >= 0.001 else "none: full gains under 0.001 dB"


def markdown(results: dict) -> str:
    """The gain summary, then PSNR-Y / SSIM-Y of every model on every row."""
    lines = ["| set | codec | level | bpp | bicubic | backbone / zero-shot (task) | packs, lora, full |", "|---|---|---|---|---|---|---|"]
    for key, row in results["rows"].items():
        set_name, codec, level = key.split("|")
        model = _cell(row["backbone"]) if "backbone" in row else f"{_cell(row['zero_shot'])} ({row['zero_shot']['task']})"
        tuned = "; ".join(f"{k.replace('pack:', '')}: {_cell(v)}" for k, v in row.items()
                          if method_of(k) in ("pack", "lora", "full")) or "-"
        lines.append(f"| {set_name} | {codec} | {level} | {row['bpp']:.3f} | {_cell(row['bicubic'])} | {model} | {tuned} |")
    return ("Means over the levels, as gains (PSNR-Y in dB); the baseline is the backbone's own task on a seen codec "
            "and its best seen task (zero-shot) on an unseen one:\n\n" + "\n".join(gain_summary(results))
            + "\n\nPer level, PSNR-Y (dB) / SSIM-Y, BT.601 Y, border 4:\n\n" + "\n".join(lines) + "\n")


def _cell(scores: dict) -> str:
    return f"{scores['psnr_y']:.2f} / {scores['ssim_y']:.4f}"


def write_results(out: Path, results: dict) -> None:
    """The JSON and its Markdown table, each replaced atomically so an interrupted run leaves valid files."""
    atomic_write_text(out, json.dumps(results, indent=2))
    atomic_write_text(out.with_suffix(".md"), markdown(results))
