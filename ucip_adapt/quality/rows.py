"""Scoring one row of the quality table, and which earlier scores a rerun may keep."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ucip_adapt.modeling.ucip import UCIP
from ucip_adapt.prompts.fingerprint import weights_fingerprint
from ucip_adapt.training.evaluation import ImageScore, score_pairs
from ucip_adapt.training.methods import TUNING_RECORD
from ucip_adapt.training.pairs import ImagePair

SCORED_MODELS = ("backbone", "zero_shot", "pack", "lora", "full")
"""The model columns of a row, apart from bicubic (a pack column is "pack:<name>")."""

Comparison = tuple[str, dict, torch.nn.Module]
"""A LoRA or fully fine-tuned model: its column label ("lora:avif"), its tuning record, the model."""


def summarize(scores: list[ImageScore]) -> dict[str, float]:
    """Mean PSNR-Y and SSIM-Y of per-image scores: one cell of the table."""
    return {"psnr_y": float(np.mean([s.psnr_y for s in scores])), "ssim_y": float(np.mean([s.ssim_y for s in scores]))}


def baseline_of(row: dict) -> dict:
    """What the tuned models of a row are measured against: the backbone's own task on a seen codec, its
    best seen task (zero-shot, with that task's name) on an unseen one."""
    return row["backbone"] if "backbone" in row else row["zero_shot"]


def method_of(column: str) -> str | None:
    """The method a row column belongs to: "pack:avif" -> "pack"; bookkeeping columns -> None."""
    method = column.split(":")[0]
    return method if method in SCORED_MODELS else None


def load_comparison(folder: Path, backbone: str, device: torch.device | str) -> Comparison:
    """A LoRA adapter (on a fresh copy of the backbone) or a fine-tuned backbone written by
    ``tune_prompts.py --method lora/full``, with its record."""
    record = json.loads((folder / TUNING_RECORD).read_text())
    if record["method"] == "lora":
        from peft import PeftModel

        model = PeftModel.from_pretrained(UCIP.from_pretrained(backbone), folder)
    else:
        model = UCIP.from_pretrained(folder)
    return f"{record['method']}:{record['codec']}", record, model.to(device).eval()


def score_row(earlier: dict, load_pairs: Callable[[], list[ImagePair]], codec: str, model: UCIP, packs: Sequence[str],
              accelerator, comparisons: Sequence[Comparison] = (),  # type: ignore[no-untyped-def]
              zero_shot_tasks: Sequence[str] | None = None) -> tuple[dict, list[str]]:
    """Every method on the pairs of one (set, codec, level), reusing the scores ``earlier`` holds; the
    pairs are degraded only when a score is missing. Returns the row and the columns scored now."""
    scores, scored = dict(earlier), []

    def score(column: str, scored_model: torch.nn.Module | None = None, task: str | int | None = None) -> dict[str, float]:
        if column not in scores:
            scores[column] = summarize(score_pairs(load_pairs(), scored_model, task, accelerator))
            scored.append(column)
        return scores[column]

    row: dict = {}
    if "bicubic" not in scores:
        pairs = load_pairs()
        scores.update(images=len(pairs), bpp=float(np.mean([p.bpp for p in pairs])))
    row.update(images=scores["images"], bpp=scores["bpp"], bicubic=score("bicubic"))
    if codec in model.tasks:
        row["backbone"] = score("backbone", model, codec)
    else:
        scores.update({f"task:{task}": result for task, result in scores.get("zero_shot", {}).get("all", {}).items()})
        tried = {task: score(f"task:{task}", model, task) for task in zero_shot_tasks or model.tasks}
        best = max(tried, key=lambda task: tried[task]["psnr_y"])
        row["zero_shot"] = {**tried[best], "task": best, "all": tried}
    for pack in packs:
        row[f"pack:{pack}"] = score(f"pack:{pack}", model, pack)
    for label, record, compared in comparisons:
        row[label] = score(label, compared, record["task"])
    return row, scored


def column_fingerprints(model: UCIP, packs: Sequence[str], comparisons: Sequence[Comparison]) -> dict[str, str]:
    """Per result column, the SHA-256 of the weights that produced it: what a resumed run compares."""
    backbone = model.backbone_fingerprint()["weights"]
    return {"backbone": backbone, "zero_shot": backbone,
            **{f"pack:{name}": weights_fingerprint(model.prompt_state_dict(name)) for name in packs},
            **{label: weights_fingerprint(compared.state_dict()) for label, _, compared in comparisons}}


def reusable_rows(out: Path, columns: dict[str, str]) -> dict[str, dict]:
    """The rows of an earlier run at ``out``, keeping bicubic and the columns whose weights' fingerprint
    matches ``columns``; scores of any other model are dropped, to be scored again."""
    if not out.exists():
        return {}
    earlier = json.loads(out.read_text())
    unchanged = {column for column, fingerprint in earlier.get("fingerprints", {}).items() if columns.get(column) == fingerprint}
    return {key: {column: value for column, value in row.items() if column in ("images", "bpp", "bicubic") or column in unchanged}
            for key, row in earlier["rows"].items()}
