"""The quality table's library (ucip_adapt.quality) on real photos: a row scores only what it lacks,
a rerun keeps the scores of unchanged weights only, and the Markdown and pack record say the means."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ucip_adapt import UCIP
from ucip_adapt.codecs import get_codec
from ucip_adapt.image_degradation import degrade
from ucip_adapt.image_io import read_image
from ucip_adapt.metrics import psnr_y
from ucip_adapt.quality import column_fingerprints, markdown, pack_evaluation, reusable_rows, score_row, write_results
from ucip_adapt.training.evaluation import bicubic_upscale
from ucip_adapt.training.pairs import ImagePair


def avif_pairs(shared_data: Path, level: int) -> list[ImagePair]:
    pairs = []
    for name in ("bird", "butterfly"):  # the two smallest of set5: seconds per row
        degraded = degrade(read_image(shared_data / "eval" / "set5" / f"{name}.png"), get_codec("avif"), level)
        pairs.append(ImagePair(degraded.compressed.lr, degraded.hr, "avif", name, "avif", str(level), degraded.compressed.bpp))
    return pairs


@pytest.fixture()
def model_with_pack(tiny_backbone_folder: Path) -> UCIP:
    """The tiny backbone with an avif pack that moved away from the webp task it started from."""
    torch.manual_seed(1)
    model = UCIP.from_pretrained(tiny_backbone_folder).eval()
    model.add_prompts("avif", init_from="webp", metadata={"codec": "avif"})
    retune(model)
    return model


def retune(model: UCIP) -> None:
    with torch.no_grad():
        for param in model.train_only_prompts("avif"):
            param.add_(0.3 * torch.randn_like(param))
    model.eval()


def no_pairs() -> list[ImagePair]:
    raise AssertionError("the pairs were degraded although every score was already there")


def test_a_row_scores_every_method_once_and_reuses_them(shared_data: Path, model_with_pack: UCIP):
    pairs = avif_pairs(shared_data, 40)
    row, scored = score_row({}, lambda: pairs, "avif", model_with_pack, ["avif"], None)

    assert scored == ["bicubic", *(f"task:{task}" for task in model_with_pack.tasks), "pack:avif"]
    bicubic = np.mean([psnr_y(bicubic_upscale(p.lr), p.hr) for p in pairs])
    assert row["bicubic"]["psnr_y"] == pytest.approx(bicubic, abs=1e-6)
    assert row["images"] == 2 and row["bpp"] == pytest.approx(np.mean([p.bpp for p in pairs]))
    tried = row["zero_shot"]["all"]
    assert set(tried) == set(model_with_pack.tasks)
    assert row["zero_shot"]["psnr_y"] == max(t["psnr_y"] for t in tried.values())
    assert tried[row["zero_shot"]["task"]]["psnr_y"] == row["zero_shot"]["psnr_y"]
    assert row["pack:avif"]["psnr_y"] != tried["webp"]["psnr_y"]  # the pack is scored as itself

    again, scored_again = score_row(row, no_pairs, "avif", model_with_pack, ["avif"], None)
    assert scored_again == [] and again == row


def test_a_rerun_keeps_only_the_scores_of_unchanged_weights(shared_data: Path, model_with_pack: UCIP, tmp_path: Path):
    pairs = avif_pairs(shared_data, 40)
    row, _ = score_row({}, lambda: pairs, "avif", model_with_pack, ["avif"], None)
    out = tmp_path / "quality.json"
    write_results(out, {"fingerprints": column_fingerprints(model_with_pack, ["avif"], []), "rows": {"set5|avif|40": row}})

    unchanged = reusable_rows(out, column_fingerprints(model_with_pack, ["avif"], []))
    assert unchanged == {"set5|avif|40": row}

    retune(model_with_pack)
    kept = reusable_rows(out, column_fingerprints(model_with_pack, ["avif"], []))["set5|avif|40"]
    assert "pack:avif" not in kept and kept["zero_shot"] == row["zero_shot"] and kept["bicubic"] == row["bicubic"]
    rescored, scored = score_row(kept, lambda: pairs, "avif", model_with_pack, ["avif"], None)
    assert scored == ["pack:avif"]
    assert rescored["pack:avif"] != row["pack:avif"]
    assert reusable_rows(tmp_path / "absent.json", {}) == {}


def test_the_markdown_and_the_pack_record_give_the_means_over_levels(shared_data: Path, model_with_pack: UCIP, tmp_path: Path):
    rows = {f"set5|avif|{level}": score_row({}, lambda level=level: avif_pairs(shared_data, level), "avif", model_with_pack, ["avif"], None)[0]
            for level in (24, 40)}
    results = {"fingerprints": column_fingerprints(model_with_pack, ["avif"], []), "rows": rows}
    mean = {column: np.mean([row[column]["psnr_y"] for row in rows.values()]) for column in ("bicubic", "zero_shot", "pack:avif")}

    table = markdown(results)
    assert f"| set5 | avif | 2 | {mean['bicubic']:.2f} | {mean['zero_shot'] - mean['bicubic']:+.2f} | {mean['pack:avif'] - mean['zero_shot']:+.3f} |" in table
    for level, row in zip((24, 40), rows.values()):
        assert f"| set5 | avif | {level} | {row['bpp']:.3f} | {row['bicubic']['psnr_y']:.2f} / " in table

    record = pack_evaluation(results, "avif")["set5"]
    assert record["levels"] == [24, 40] and record["images"] == 2
    assert record["psnr_y"] == {name: round(float(mean[column]), 4) for name, column in
                                (("bicubic", "bicubic"), ("zero_shot", "zero_shot"), ("pack", "pack:avif"))}
    assert record["zero_shot_task"] == ", ".join(sorted({row["zero_shot"]["task"] for row in rows.values()}))

    write_results(tmp_path / "quality.json", results)
    assert json.loads((tmp_path / "quality.json").read_text()) == results
    assert (tmp_path / "quality.md").read_text() == table
