"""Degraded pairs held in memory as uint8 arrays, ready for cropping and whole-image evaluation.

The cached ``datasets`` pairs store the LR as PNG and the HR as a reference to the original
image; training draws thousands of crops per second, so both are decoded once here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..image_io import read_image

if TYPE_CHECKING:  # training from packed pairs needs no `datasets`
    import datasets

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImagePair:
    """One degraded image: compressed LR, its HR (4x the LR size), the task, and where it came from;
    training crops it and evaluation scores it whole."""

    lr: np.ndarray
    hr: np.ndarray
    task: str
    name: str = ""
    codec: str = ""
    level: str = ""
    bpp: float = 0.0


def materialize_pairs(pairs: datasets.Dataset, *, min_lr_size: int = 0, scale: int = 4) -> list[ImagePair]:
    """Decode every pair of a degraded dataset; pairs whose LR is under ``min_lr_size`` on a side are
    skipped (logged with their count), since a crop cannot be cut from them."""
    hr_cache: dict[str, np.ndarray] = {}
    result, skipped = [], 0
    for row in pairs:
        if min(row["lr_width"], row["lr_height"]) < min_lr_size:
            skipped += 1
            continue
        lr = read_image(row["lr"], log_conversions=False)
        if row["name"] not in hr_cache:
            hr = read_image(row["hr"], log_conversions=False)
            hr_cache[row["name"]] = np.ascontiguousarray(hr[: lr.shape[0] * scale, : lr.shape[1] * scale])
        result.append(ImagePair(lr, hr_cache[row["name"]], row["task"], row["name"], row["codec"], row["level"], row["bpp"]))
    if skipped:
        logger.warning("skipped %d of %d pairs whose LR is under %d pixels on a side", skipped, len(pairs), min_lr_size)
    return result


def spread_over_degradations(pairs: list[ImagePair], count: int) -> list[ImagePair]:
    """At most ``count`` pairs taken in turn from each degradation (codec and level), so that a
    held-out score covers every level and task however the list is ordered (it comes ordered by
    degradation, so its first pairs would all be the first level)."""
    groups: dict[tuple[str, str], list[ImagePair]] = {}
    for pair in pairs:
        groups.setdefault((pair.codec, pair.level), []).append(pair)
    chosen: list[ImagePair] = []
    for rank in range(max((len(group) for group in groups.values()), default=0)):
        chosen += [group[rank] for group in groups.values() if rank < len(group)]
    return chosen[:count]
