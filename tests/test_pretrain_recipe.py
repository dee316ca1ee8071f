"""recipes/pretrain_backbone.py on real photos: a first stage from random weights, a second stage
started from it with ``--init-from``, the refusal of a backbone that is another network, and a
time-budgeted run of two crop sizes in turn from packed pairs where the data pipeline's libraries are
missing."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from ucip_adapt import UCIP
from ucip_adapt.config import preset
from ucip_adapt.training.args import add_training_flags, loop_config
from ucip_adapt.training.launch import make_accelerator
from ucip_adapt.training.loop import BUDGET_TIMED_STEPS, BUDGET_WARMUP_STEPS, LoopConfig, _steps_within_budget

REPO = Path(__file__).resolve().parents[1]
PRETRAIN = REPO / "recipes" / "pretrain_backbone.py"


@pytest.fixture(scope="module")
def workspace(shared_dir, tmp_path_factory) -> Path:
    """Four Kodak photos (one held out) and a shared degradation cache."""
    root = tmp_path_factory.mktemp("pretrain")
    (root / "hr").mkdir()
    for index in (3, 4, 5, 6):
        shutil.copy(shared_dir / "data" / "eval" / "kodak24" / f"kodim{index:02d}.png", root / "hr")
    return root


def pretrain(workspace: Path, out: str, *extra: str) -> subprocess.CompletedProcess:
    args = [
        "--preset", "ucip-tiny", "--codecs", "jpeg", "--data", str(workspace / "hr"), "--heldout-fraction", "0.25",
        "--max-eval-pairs", "1", "--batch-size", "2", "--patch-size", "24", "--checkpoint-every", "1",
        "--cache-dir", str(workspace / "cache"), "--output-dir", str(workspace / out), *extra,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, str(PRETRAIN), *args], capture_output=True, text=True, env=env, cwd=REPO)


@pytest.fixture(scope="module")
def first_stage(workspace) -> Path:
    result = pretrain(workspace, "stage1", "--steps", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    return workspace / "stage1"


def test_first_stage_writes_a_loadable_backbone_with_its_training_facts(first_stage):
    model = UCIP.from_pretrained(first_stage / "final")
    assert model.tasks == ["jpeg"] and model.config == preset("ucip-tiny", tasks=["jpeg"], min_inference_side=24)  # its crop
    summary = json.loads((first_stage / "summary.json").read_text())
    assert [step for step, _ in summary["losses"]] == [1, 2] and summary["init_from"] is None
    card = (first_stage / "final" / "README.md").read_text()
    assert "## Training" in card and "Steps 2, batch 2, LR patch 24x24" in card and "Initialised from" not in card


def test_init_from_starts_the_next_stage_from_the_trained_weights(workspace, first_stage):
    result = pretrain(workspace, "stage2", "--steps", "1", "--lr", "1e-7", "--patch-size", "32",
                      "--init-from", str(first_stage / "final"))
    assert result.returncode == 0, result.stderr[-3000:]
    before = UCIP.from_pretrained(first_stage / "final").state_dict()
    after = UCIP.from_pretrained(workspace / "stage2" / "final").state_dict()
    torch.manual_seed(0)
    fresh = UCIP(preset("ucip-tiny", tasks=["jpeg"])).state_dict()
    # One Adam step of lr 1e-7 moves a weight by about 1e-7: the stage began at stage 1's weights.
    assert max((after[k] - before[k]).abs().max().item() for k in before) < 1e-5
    assert max((after[k] - fresh[k]).abs().max().item() for k in before) > 1e-2
    card = (workspace / "stage2" / "final" / "README.md").read_text()
    assert f"Initialised from {first_stage / 'final'}" in card and "LR patch 32x32" in card


def test_init_from_another_network_is_refused_before_any_training(workspace, first_stage):
    result = pretrain(workspace, "mismatch", "--steps", "1", "--codecs", "jpeg,webp", "--init-from", str(first_stage / "final"))
    assert result.returncode != 0
    assert "--init-from" in result.stderr and "--codecs jpeg,webp" in result.stderr
    assert "task 'webp' is not in the source (jpeg): name the source task it starts from, e.g. webp=jpeg" in result.stderr
    assert not (workspace / "mismatch").exists()


def test_packed_pairs_train_two_crop_sizes_without_datasets_or_codecs_for_a_time_budget(workspace, first_stage):
    pack = workspace / "pairs.safetensors"
    packed = pretrain(workspace, "unused", "--pack-pairs", str(pack))
    assert packed.returncode == 0, packed.stderr[-3000:]
    assert "training pairs of 3 photos" in packed.stdout and "1 held-out pairs" in packed.stdout
    # As on a lent GPU machine: the data pipeline's libraries cannot be imported at all.
    blocked = ("datasets", "evaluate", "imagecodecs", "pillow_heif", "av", "skimage")
    argv = ["pretrain_backbone.py", "--preset", "ucip-tiny", "--codecs", "jpeg", "--packed-pairs", str(pack), "--batch-size", "2",
            "--patch-size", "24", "32", "--steps", "100000", "--time-budget-minutes", "0.1", "--checkpoint-every", "100000",
            "--eval-every", "0", "--init-from", str(first_stage / "final"), "--output-dir", str(workspace / "budget"), "--compile",
            "--mixed-precision", "bf16"]
    runner = (f"import runpy, sys\nfor name in {blocked!r}: sys.modules[name] = None\n"
              f"sys.argv = {argv!r}\nrunpy.run_path({str(PRETRAIN)!r}, run_name='__main__')")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", runner], capture_output=True, text=True, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((workspace / "budget" / "summary.json").read_text())
    # Steps 6-25 are timed (the blocks compile in steps 1 and 2, one graph per size), then the run is cut
    # to what fits in 6 seconds: at most the 25 steps done and as many more as 6 s hold at the timed rate
    # (the arithmetic itself: test_the_time_budget_keeps_the_steps_that_fit_in_what_is_left).
    timed = re.search(r"time budget: ([0-9.]+) s per step, training (\d+) steps", result.stdout)
    assert timed, result.stdout[-3000:]
    seconds_per_step, steps, done = float(timed.group(1)), int(timed.group(2)), BUDGET_WARMUP_STEPS + BUDGET_TIMED_STEPS
    assert done <= steps <= done + 6 / (seconds_per_step - 5e-4)  # the rate is printed rounded to 1 ms
    assert summary["steps"] == steps and len(summary["losses"]) == steps
    assert summary["data"] == f"{workspace / 'hr'} (packed in pairs.safetensors)" and summary["patch_size"] == [24, 32]
    card = (workspace / "budget" / "final" / "README.md").read_text()
    assert f"Steps {summary['steps']}, batch 2, LR patch 24x24 and 32x32 in turn" in card


def test_the_time_budget_keeps_the_steps_that_fit_in_what_is_left(tmp_path):
    """After the timed steps, a run goes on for the whole steps that the rest of the budget holds at
    the timed rate, never past --steps and never below the steps already done."""
    accelerator = make_accelerator(mixed_precision="no", gradient_accumulation_steps=1, project_dir=str(tmp_path))
    config = LoopConfig(steps=100_000, learning_rate=1e-3, output_dir=str(tmp_path), time_budget_seconds=60.0)
    done = BUDGET_WARMUP_STEPS + BUDGET_TIMED_STEPS
    assert _steps_within_budget(accelerator, config, done, elapsed=10.0, seconds_per_step=0.5) == done + 100  # 50 s left
    assert _steps_within_budget(accelerator, config, done, elapsed=10.0, seconds_per_step=0.3) == done + 166  # 166.7 steps fit
    assert _steps_within_budget(accelerator, replace(config, steps=80), done, elapsed=10.0, seconds_per_step=0.5) == 80
    assert _steps_within_budget(accelerator, config, done, elapsed=75.0, seconds_per_step=0.5) == done  # spent compiling


def test_a_time_budget_cannot_resume():
    parser = argparse.ArgumentParser()
    add_training_flags(parser, steps=10, batch_size=2, patch_size=24, learning_rate=1e-3, checkpoint_every=1, eval_every=0)
    with pytest.raises(ValueError, match="resume with --steps set to the steps it chose"):
        loop_config(parser.parse_args(["--time-budget-minutes", "5", "--resume", "--output-dir", "run"]))
