"""recipes/train_task_estimator.py on real photos: it writes a strictly loadable estimator of the codecs
asked for, a fallback task for the codec the backbone has no task for, and a card with its confusion
matrix; it refuses an output folder holding other files before any work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ucip_adapt.blind import load_estimator

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "train_task_estimator.py"
CODECS = ["jpeg", "webp", "clean", "avif"]


def run_recipe(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, str(RECIPE), *args], capture_output=True, text=True, env=env, timeout=600)


def test_the_recipe_writes_an_estimator_its_fallbacks_and_its_card(shared_data: Path, tiny_backbone_folder: Path, tmp_path: Path):
    photos = tmp_path / "photos"  # set5 splits by name: woman held out, baby and bird validate, the rest trains
    shutil.copytree(shared_data / "eval" / "set5", photos)
    out = tmp_path / "estimator"
    done = run_recipe("--data", str(photos), "--codecs", ",".join(CODECS), "--backbone", str(tiny_backbone_folder),
                      "--steps", "30", "--batch-size", "8", "--crop", "32", "--width", "16", "--fallback-pairs", "2",
                      "--heldout-fraction", "0.7", "--validation-fraction", "0.15", "--threads", "1",
                      "--cache-dir", str(tmp_path / "cache"), "--output-dir", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"estimator of {len(CODECS)} classes, held-out accuracy" in done.stdout

    estimator = load_estimator(out)
    assert estimator.config.codecs == CODECS and estimator.config.width == 16 and estimator.config.crop == 32
    assert list(estimator.config.fallback_tasks) == ["avif"]  # the only codec the backbone has no task for
    assert estimator.config.fallback_tasks["avif"] in ("jpeg", "hevc", "vvc", "webp", "clean")
    card = (out / "README.md").read_text()
    assert "## Confusion matrix" in card and all(f"| **{codec}** |" in card for codec in CODECS)
    assert "--width 16" in card  # the command that made it

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    refused = run_recipe("--data", str(photos), "--output-dir", str(notes))
    assert refused.returncode == 2 and "holds other files" in refused.stderr.strip().splitlines()[-1]
    assert [p.name for p in notes.iterdir()] == ["todo.txt"]
