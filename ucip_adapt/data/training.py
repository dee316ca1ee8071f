"""Degraded pairs that mix several codecs and levels, each with its task name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import datasets

from ucip_adapt.codecs import get_codec
from ucip_adapt.data.degraded_dataset import Degradation, degrade_dataset, parse_degradations, require_encoders, vvc_bitstream_template
from ucip_adapt.data.sources import image_folder


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
