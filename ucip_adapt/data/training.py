"""Training and evaluation sets that mix several codecs and levels, each with its task name."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import datasets
import torch

from ucip_adapt.codecs import get_codec
from ucip_adapt.data.crops import RandomPairCrop
from ucip_adapt.data.degraded_dataset import Degradation, degrade_dataset, parse_degradations, require_encoders, vvc_bitstream_template
from ucip_adapt.data.sources import image_folder
from ucip_adapt.image_degradation import SCALE

logger = logging.getLogger(__name__)


def degraded_pairs(
    hr_images: datasets.Dataset,
    degradations: Iterable[str | Degradation],
    *,
    cache_dir: str | Path | None = None,
    num_proc: int | None = None,
) -> datasets.Dataset:
    """All cached pairs of `hr_images` under every degradation (``"jpeg"`` = its four levels,
    ``"jxl:8.5"``, or `Degradation`s), concatenated; the ``task`` column names each pair's task."""
    parsed = parse_degradations(degradations)
    require_encoders(parsed)
    parts = [degrade_dataset(hr_images, degradation, cache_dir=cache_dir, num_proc=num_proc) for degradation in parsed]
    if not parts:
        raise ValueError("no degradations given: name at least one codec, e.g. ['jpeg', 'hevc']")
    return datasets.concatenate_datasets(parts)


def build_training_set(
    hr_images: datasets.Dataset,
    degradations: Iterable[str | Degradation],
    *,
    patch_size: int = 64,
    seed: int | torch.Generator | None = None,
    augment: bool = True,
    cache_dir: str | Path | None = None,
    num_proc: int | None = None,
) -> datasets.Dataset:
    """A training set of random aligned crops: `degraded_pairs`, minus the pairs whose LR is
    smaller than the crop (skipped, with a logged count), with `RandomPairCrop` as its transform.

    Each item is ``{"lr": 3 x p x p, "hr": 3 x 4p x 4p, "task": str}`` (float32 in [0, 1]).
    """
    pairs = degraded_pairs(hr_images, degradations, cache_dir=cache_dir, num_proc=num_proc)
    large_enough = pairs.filter(
        lambda widths, heights: [w >= patch_size and h >= patch_size for w, h in zip(widths, heights)],
        input_columns=["lr_width", "lr_height"],
        batched=True,
        desc=f"keeping LR images of at least {patch_size}x{patch_size}",
    )
    skipped = len(pairs) - len(large_enough)
    if skipped:
        logger.warning(
            "skipped %d of %d pairs whose LR is smaller than the %dx%d crop (HR under %d pixels on a side)",
            skipped, len(pairs), patch_size, patch_size, patch_size * SCALE,
        )  # fmt: skip
    return large_enough.with_transform(RandomPairCrop(patch_size, SCALE, augment=augment, seed=seed))


def vvc_pairs(
    data_root: str | Path,
    subset: str,
    *,
    qps: Sequence[int] | None = None,
    task: str = "vvc",
    cache_dir: str | Path | None = None,
    num_proc: int | None = None,
) -> datasets.Dataset:
    """VVC pairs of ``<data_root>/<subset>`` from the pre-encoded bitstreams of the ``shared/data``
    layout (``vvc/<subset>/qp<QP>/<stem>.266``), decoded with PyAV: no encoder needed.

    Args:
        data_root: the folder holding ``train/``, ``eval/`` and ``vvc/`` (e.g. ``shared/data``).
        subset: ``"eval/kodak24"``, ``"train/bsds400"``, or ``"train"`` for all training sets.
        qps: default: the four standard VVC levels.
    """
    hr_images = image_folder(Path(data_root) / subset, cache_dir=cache_dir)
    template = vvc_bitstream_template(data_root, subset)
    levels = qps if qps is not None else get_codec("vvc").levels
    return degraded_pairs(
        hr_images,
        [Degradation("vvc", qp, task=task, pre_encoded=template) for qp in levels],
        cache_dir=cache_dir,
        num_proc=num_proc,
    )
