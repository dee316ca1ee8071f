"""Every scored row of the quality table's JSONs as a gain over bicubic: the README's summary table
and the figures are both made from :func:`read_gains` (the row format is in :mod:`ucip_adapt.quality`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Gain:
    """One model on one row, against bicubic on the same images."""

    data_set: str
    codec: str
    level: str
    model: str
    psnr_y: float
    """PSNR-Y gain over bicubic, dB."""
    ssim_y: float
    """SSIM-Y gain over bicubic."""
    bicubic_psnr_y: float


def read_gains(paths: Iterable[str | Path]) -> list[Gain]:
    """Every (row, model) of the JSONs at ``paths``, in file and row order; FileNotFoundError names a missing one."""
    gains = []
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"No result JSON at {path}; write it with recipes/evaluate.py --out {path}")
        for key, row in json.loads(Path(path).read_text())["rows"].items():
            data_set, codec, level = key.split("|")
            bicubic = row["bicubic"]
            for model, scores in row.items():
                if model != "bicubic" and isinstance(scores, dict) and "psnr_y" in scores:
                    gains.append(Gain(data_set, codec, level, model, scores["psnr_y"] - bicubic["psnr_y"],
                                      scores["ssim_y"] - bicubic["ssim_y"], bicubic["psnr_y"]))
    return gains
