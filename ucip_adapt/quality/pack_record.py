"""What ``recipes/evaluate.py --record-in-packs`` writes into a pack: its mean scores per evaluation set."""

from __future__ import annotations

import json

import numpy as np

from ucip_adapt.quality.rows import baseline_of


def pack_evaluation(results: dict, pack: str) -> dict[str, dict]:
    """Per set, the mean PSNR-Y / SSIM-Y over the levels of bicubic, the baseline (zero-shot, or the
    backbone's own task on a seen codec) and pack ``pack``, with the levels and the baseline's task."""
    sets: dict[str, list[tuple[str, str, dict]]] = {}
    for key, row in results["rows"].items():
        if f"pack:{pack}" in row:
            set_name, codec, level = key.split("|")
            sets.setdefault(set_name, []).append((codec, level, row))
    evaluation = {}
    for name, rows in sets.items():
        baselines = [baseline_of(row) for _, _, row in rows]
        columns = {"bicubic": [row["bicubic"] for *_, row in rows], "zero_shot": baselines, "pack": [row[f"pack:{pack}"] for *_, row in rows]}
        evaluation[name] = {
            "images": rows[0][2]["images"], "levels": [_number(level) for _, level, _ in rows],
            "zero_shot_task": ", ".join(sorted({baseline.get("task", codec) for (codec, _, _), baseline in zip(rows, baselines)})),
            **{metric: {column: round(float(np.mean([s[metric] for s in scores])), 4) for column, scores in columns.items()}
               for metric in ("psnr_y", "ssim_y")},
        }
    return evaluation


def _number(level: str) -> int | float | str:
    """A level as a row key spells it, as the number it is ("24" -> 24, "8.5" -> 8.5)."""
    try:
        return json.loads(level)
    except json.JSONDecodeError:
        return level
