"""The figures of the README and the model cards, from the committed result JSONs and real photos.

    pip install -e ".[docs]"
    python benchmarks/figures.py --data ../shared/data/eval/kodak24 --out docs/images --cards

``gain-per-level.png``: PSNR-Y gain over bicubic of each task at each level of its codec, one bar per
evaluation set, from ``recipes/evaluate.py``'s JSONs (``--results``; the rows the backbone scored,
and ``pack:<codec>`` rows beside ``zero_shot`` when a JSON holds packs). ``crop-grid.png``: for each
loaded prompt pack, one photo of ``--data`` degraded at its codec's second-heaviest standard level; columns:
the LR as received (pixels enlarged), bicubic, the backbone with the pack's starting task, the pack,
and the original; titles give the whole photo's PSNR-Y. The photo and crop are picked by rule
(the n-th photo for the n-th pack, cycling, the crop with the most detail), not by result. ``--cards`` also
writes the gain figure into the bundled backbone's folder and each pack's row into its pack's
folder, and rewrites the pack cards to show it (the backbone's card links its figure by hand).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ucip_adapt.atomic import atomic_path
from ucip_adapt.bundled import DEFAULT_BACKBONE_ID, bundled_folder
from ucip_adapt.cards import PACK_FIGURE, write_pack_card
from ucip_adapt.data import degraded_pairs, load_hr_images
from ucip_adapt.flags import positive_int
from ucip_adapt.metrics import psnr_y
from ucip_adapt.quality import Gain, read_gains
from ucip_adapt.training.evaluation import bicubic_upscale, model_upscale
from ucip_adapt.training.pairs import materialize_pairs
from ucip_adapt.upscale import DEFAULT_PROMPT_PACKS, load_model

@dataclass
class CropRow:
    """One pack's row of the crop grid: its repo id and metadata, a label, the five images, the crop corner."""

    pack_id: str
    metadata: dict
    label: str
    outputs: dict[str, np.ndarray]
    hr: np.ndarray
    corner: tuple[int, int]


DEFAULT_RESULTS = ("docs/results/quality-seen.json", "docs/results/quality-clean.json")
BACKBONE_FIGURE = "images/gain-per-level.png"
"""Where the bundled backbone's repository keeps the gain figure its card shows."""
CROP = 160
"""HR side of a crop in the grid (40 LR pixels)."""


def gains_by_task(gains: list[Gain]) -> dict[str, dict[str, dict[str, float]]]:
    """task -> level -> set -> PSNR-Y gain over bicubic: a backbone row under its codec's name
    (``clean`` for uncompressed input), a pack row under ``<codec> pack`` and its zero-shot row
    under ``<codec> zero-shot``."""
    by_task: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for gain in gains:
        names = {"backbone": gain.codec, "zero_shot": f"{gain.codec} zero-shot", f"pack:{gain.codec}": f"{gain.codec} pack"}
        if gain.model in names:
            by_task[names[gain.model]][gain.level][gain.data_set] = gain.psnr_y
    return by_task


def plot_gains(gains: dict[str, dict[str, dict[str, float]]], path: Path) -> None:
    import matplotlib.pyplot as plt

    tasks = list(gains)
    sets = sorted({data_set for levels in gains.values() for row in levels.values() for data_set in row})
    figure, axes = plt.subplots(1, len(tasks), figsize=(2.6 * len(tasks), 3.2), sharey=True, squeeze=False)
    width = 0.8 / len(sets)
    for axis, task in zip(axes[0], tasks):
        levels = list(gains[task])
        for index, data_set in enumerate(sets):
            values = [gains[task][level].get(data_set, np.nan) for level in levels]
            axis.bar(np.arange(len(levels)) + (index - (len(sets) - 1) / 2) * width, values, width, label=data_set)
        axis.axhline(0, color="black", linewidth=0.8)
        axis.set_xticks(range(len(levels)), levels)
        axis.set_title(task)
        axis.set_xlabel("level (heavy -> light)" if task != "clean" else "")
    axes[0][0].set_ylabel("PSNR-Y gain over bicubic (dB)")
    axes[0][-1].legend(fontsize=8)
    figure.tight_layout()
    _save(figure, path)


def crop_rows(data: str, cache_dir: str | None) -> list[CropRow]:
    """One row per bundled pack (see the module docstring)."""
    model = load_model()
    device = torch.device("cpu")
    hr_images = load_hr_images(data, cache_dir=cache_dir)
    rows = []
    for index, (pack_id, (name, metadata)) in enumerate(zip(DEFAULT_PROMPT_PACKS, model.list_prompts().items())):
        codec = str(metadata["codec"])
        level = json.loads(str(metadata["levels"]))[1]
        pair = materialize_pairs(degraded_pairs(hr_images.select([index % len(hr_images)]), [f"{codec}:{level}"], cache_dir=cache_dir))[0]
        start = start_task(metadata)
        outputs = {
            "LR as received": np.kron(pair.lr, np.ones((4, 4, 1), dtype=np.uint8)),
            "bicubic": bicubic_upscale(pair.lr),
            f"backbone, task {start}": model_upscale(model, pair.lr, start, device),
            f"{name} pack": model_upscale(model, pair.lr, name, device),
            "original": pair.hr,
        }
        rows.append(CropRow(pack_id, metadata, f"{pair.name}, {codec} {level}", outputs, pair.hr, most_detailed_crop(pair.hr, CROP)))
    return rows


def plot_crops(rows: list[CropRow], path: Path) -> None:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(rows), 5, figsize=(12, 2.6 * len(rows)), squeeze=False)
    for axis_row, row in zip(axes, rows):
        top, left = row.corner
        for axis, (title, image) in zip(axis_row, row.outputs.items()):
            axis.imshow(image[top : top + CROP, left : left + CROP])
            score = "" if title in ("LR as received", "original") else f"\n{psnr_y(image, row.hr):.2f} dB"
            axis.set_title(title + score, fontsize=9)
            axis.set_xticks([])
            axis.set_yticks([])
        axis_row[0].set_ylabel(row.label, fontsize=9)
    figure.tight_layout()
    _save(figure, path)


def start_task(metadata: dict) -> str:
    """The backbone task a pack started from: the best seen task on its validation photos."""
    zero_shot = metadata["selection"]["validation_zero_shot"]
    return max(zero_shot, key=zero_shot.get)


def most_detailed_crop(hr: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left of the ``size`` crop (on a grid of ``size // 2``) with the largest mean gradient."""
    grey = hr.astype(np.float32).mean(axis=2)
    detail = np.abs(np.diff(grey, axis=0))[:, :-1] + np.abs(np.diff(grey, axis=1))[:-1]
    step = size // 2
    corners = [(top, left) for top in range(0, hr.shape[0] - size + 1, step) for left in range(0, hr.shape[1] - size + 1, step)]
    return max(corners, key=lambda corner: detail[corner[0] : corner[0] + size, corner[1] : corner[1] + size].mean())


def _save(figure, path: Path) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", nargs="+", default=list(DEFAULT_RESULTS), help="JSONs written by recipes/evaluate.py")
    parser.add_argument("--data", help="folder of HR photos for the crop grid (none: no grid)")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--cards", action="store_true",
                        help="also put the figures in the bundled repositories and show them on their model cards")
    parser.add_argument("--threads", type=positive_int, default=2)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    try:
        gains = read_gains(args.results)
    except FileNotFoundError as error:
        parser.error(str(error))
    torch.set_num_threads(args.threads)
    import matplotlib

    matplotlib.use("Agg")
    plot_gains(gains_by_task(gains), args.out / "gain-per-level.png")
    if args.cards:
        plot_gains(gains_by_task(gains), bundled_folder(DEFAULT_BACKBONE_ID) / BACKBONE_FIGURE)
    if args.data:
        rows = crop_rows(args.data, args.cache_dir)
        plot_crops(rows, args.out / "crop-grid.png")
        for row in rows if args.cards else ():
            folder = bundled_folder(row.pack_id)
            plot_crops([row], folder / PACK_FIGURE)
            write_pack_card(folder, row.metadata)


if __name__ == "__main__":
    main()
