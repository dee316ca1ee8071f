"""Every script in benchmarks/ runs at a tiny size, on real photos where it reads any, and prints the
Markdown table it promises with one row per case asked for."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ucip_adapt.codecs import get_codec
from ucip_adapt.upscale import DEFAULT_PROMPT_PACKS

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def photos(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding one real photo (Set5's bird, a 72x72 LR)."""
    folder = tmp_path_factory.mktemp("photos") / "hr"
    folder.mkdir()
    shutil.copy(shared_data / "eval" / "set5" / "bird.png", folder)
    return folder


def run_benchmark(script: str, *args: str) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def table_rows(output: str) -> list[list[str]]:
    """The cells of every Markdown table row printed, header rows and separators left out."""
    lines = [line for line in output.splitlines() if line.startswith("|")]
    headers = {index - 1 for index, line in enumerate(lines) if line.startswith("|---")}
    return [[cell.strip() for cell in line.strip("|").split("|")] for index, line in enumerate(lines)
            if index not in headers and not line.startswith("|---")]


def test_model():
    rows = table_rows(run_benchmark("model.py", "--presets", "ucip-tiny", "--threads", "1", "--repeats", "1"))
    assert [row[:2] for row in rows] == [["ucip-tiny", "226,435"]] and len(rows[0]) == 10


def test_train_step():
    output = run_benchmark("train_step.py", "--preset", "ucip-tiny", "--batch-sizes", "1", "2", "--patch-size", "16",
                           "--steps", "1", "--warmup", "0", "--threads", "1")
    rows = table_rows(output)
    assert [row[0] for row in rows] == ["1", "2"] and all(row[3] == "n/a" for row in rows)  # no GPU memory on a CPU


def test_tuning_methods():
    output = run_benchmark("tuning_methods.py", "--batch-size", "1", "--patch-size", "16", "--repeats", "1", "--threads", "1")
    rows = table_rows(output)
    assert [row[0] for row in rows] == ["prompt", "lora", "full"]
    assert rows[0][1] == "5,088" and rows[2][1] == "1,042,179"  # a pack; the whole bundled backbone


def test_upscale():
    output = run_benchmark("upscale.py", "--presets", "ucip-tiny", "--sizes", "24x16", "--tile-pixels", "128", "--threads", "1")
    rows = table_rows(output)
    assert [row[:4] for row in rows] == [["ucip-tiny", "24x16", "96x64", "whole"], ["ucip-tiny", "24x16", "96x64", "tiled (128 px bands)"]]


def test_codecs(shared_data):
    output = run_benchmark("codecs.py", "--data", str(shared_data), "--sets", "eval/set5", "--codecs", "jpeg", "vvc", "--limit", "1")
    rows = table_rows(output)
    assert [row[:2] for row in rows] == [[codec, str(level)] for codec in ("jpeg", "vvc") for level in get_codec(codec).levels]
    assert all(row[5] == "n/a (pre-encoded)" for row in rows if row[0] == "vvc")
    assert output.strip().splitlines()[-1] == "ordering check: jpeg, hevc and vvc go heavy -> light in bpp and PSNR-Y"


def test_compression_strength(photos, tmp_path):
    output = run_benchmark("compression_strength.py", "--data", str(photos), "--degradations", "jpeg:40", "--images", "1",
                           "--threads", "1", "--cache-dir", str(tmp_path / "cache"))
    rows = table_rows(output)
    assert [row[0] for row in rows] == ["uncompressed", "jpeg 40"] and rows[0][1] == "-"  # no LR PSNR of the uncompressed LR


def test_input_size(photos, tmp_path):
    output = run_benchmark("input_size.py", "--data", str(photos), "--degradation", "jpeg:40", "--sizes", "16", "0", "--images", "1",
                           "--threads", "1", "--cache-dir", str(tmp_path / "cache"))
    assert [row[:2] for row in table_rows(output)] == [["16x16 centre crop", "1"], ["whole image", "1"]]


def test_quality_summary():
    results = Path(__file__).resolve().parents[1] / "docs" / "results"
    rows = table_rows(run_benchmark("quality_summary.py", str(results / "quality-seen.json"), str(results / "quality-clean.json")))
    kodak = next(row for row in rows if row[0] == "kodak24")
    assert kodak[1:6] == ["25.07", "+0.26", "+0.18", "+0.20", "+0.17"] and kodak[-1] == "**+0.62**"  # the README's numbers


def test_quality_summary_of_packs_gives_their_share_of_full_fine_tuning():
    results = Path(__file__).resolve().parents[1] / "docs" / "results" / "unanchored-backbone"
    rows = table_rows(run_benchmark("quality_summary.py", str(results / "packs-avif.json")))
    assert [row[0] for row in rows] == ["kodak24", "set14", "bsd100"]
    assert rows[1][2:] == ["+0.168", "+0.207", "+0.209", "+0.201", "**+0.039**", "118 %"]  # (0.207 - 0.168) / (0.201 - 0.168)
    assert rows[0][-1] == "none: full gains under 0.001 dB"  # full lost to zero-shot on Kodak24: no share of a loss


def test_figures(photos: Path, tmp_path: Path):
    from PIL import Image

    results = Path(__file__).resolve().parents[1] / "docs" / "results"
    output = run_benchmark("figures.py", "--results", str(results / "quality-seen.json"), str(results / "quality-clean.json"),
                           "--data", str(photos), "--out", str(tmp_path), "--threads", "1")
    assert output.splitlines() == [f"wrote {tmp_path / 'gain-per-level.png'}", f"wrote {tmp_path / 'crop-grid.png'}"]
    width, height = Image.open(tmp_path / "crop-grid.png").size
    assert width == 1200 and height == len(DEFAULT_PROMPT_PACKS) * 260  # five columns, a row per bundled pack


def test_blind(photos: Path, shared_data: Path):
    bitstreams = shared_data / "vvc" / "eval" / "set5"
    rows = table_rows(run_benchmark("blind.py", "--data", str(photos), "--vvc-bitstreams", str(bitstreams), "--threads", "1"))
    assert rows[0][:2] == ["hr", "1"] and len(rows[0]) == 9
    oracle = float(rows[0][6])
    assert all(float(cell) <= oracle for cell in rows[0][2:6])  # no route beats the best task for the picture
    assert [row[:2] for row in rows[1:]] == [[codec, "1"] for codec in ("jpeg", "hevc", "vvc", "webp", "clean", "avif", "jxl", "jpeg2000", "h264", "heic")]


def test_blind_accuracy_of_a_given_estimator(photos: Path, shared_data: Path):
    from ucip_adapt.bundled import bundled_folder

    estimator = bundled_folder("ucip-adapt/ucip-small-x4") / "estimator"
    rows = table_rows(run_benchmark("blind.py", "--data", str(photos), "--vvc-bitstreams", str(shared_data / "vvc" / "eval" / "set5"),
                                    "--estimator", str(estimator), "--accuracy-only", "--threads", "1"))
    assert [row[:2] for row in rows] == [[codec, "1"] for codec in ("jpeg", "hevc", "vvc", "webp", "clean", "avif", "jxl", "jpeg2000", "h264", "heic")]
