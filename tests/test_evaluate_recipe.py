"""recipes/evaluate.py on real photos: seen codecs use their task, unseen ones zero-shot and packs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ucip_adapt import UCIP
from ucip_adapt.codecs import get_codec
from ucip_adapt.config import SEEN_TASKS, preset
from ucip_adapt.image_degradation import compress_lr, make_clean_pair, measure_decoded
from ucip_adapt.image_io import read_image
from ucip_adapt.metrics import psnr_y, ssim_y
from ucip_adapt.prompts.fingerprint import weights_fingerprint
from ucip_adapt.prompts.pack_file import read_pack
from ucip_adapt.training.evaluation import bicubic_upscale
from ucip_adapt.training.methods import write_tuning_record

REPO = Path(__file__).resolve().parents[1]


def upscaled(model: UCIP, lr: np.ndarray, task: str) -> np.ndarray:
    """``model``'s x4 of a uint8 LR with ``task``, rounded to uint8 as the metric convention wants."""
    with torch.no_grad():
        sr = model.upscale(torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255, task=task)
    return sr[0].permute(1, 2, 0).mul(255).round().byte().numpy()


def mean_scores(outputs: list[np.ndarray], hrs: list[np.ndarray]) -> dict[str, float]:
    return {"psnr_y": float(np.mean([psnr_y(sr, hr) for sr, hr in zip(outputs, hrs)])),
            "ssim_y": float(np.mean([ssim_y(sr, hr) for sr, hr in zip(outputs, hrs)]))}


def expected_rows(shared_dir: Path, folder: Path, backbone: UCIP, full: UCIP) -> dict[str, dict]:
    """The rows of set5's baby and bird at level 37, computed here from the images, the codecs and the
    models, without the recipe's datasets, caches or scoring: bpp, bicubic and every model column."""
    hrs, clean_lrs = zip(*(make_clean_pair(read_image(folder / f"{name}.png")) for name in ("baby", "bird")))
    vvc_streams = [(shared_dir / "data" / "vvc" / "eval" / "set5" / "qp37" / f"{name}.266").read_bytes() for name in ("baby", "bird")]
    coded = {"vvc": [measure_decoded(lr, get_codec("vvc").decode(data), len(data)) for lr, data in zip(clean_lrs, vvc_streams)],
             "avif": [compress_lr(lr, get_codec("avif"), 37) for lr in clean_lrs]}
    rows = {}
    for codec, compressed in coded.items():
        lrs = [c.lr for c in compressed]
        rows[codec] = {"bpp": float(np.mean([c.bpp for c in compressed])),
                       "bicubic": mean_scores([bicubic_upscale(lr) for lr in lrs], list(hrs))}
        columns = {"backbone": (backbone, "vvc")} if codec == "vvc" else {
            **{f"task:{task}": (backbone, task) for task in backbone.tasks}, "pack:avif": (backbone, "avif"), "full:avif": (full, "hevc")}
        for column, (model, task) in columns.items():
            rows[codec][column] = mean_scores([upscaled(model, lr, task) for lr in lrs], list(hrs))
    return rows


def test_quality_table(shared_dir, tmp_path):
    torch.manual_seed(0)
    backbone = UCIP(preset("ucip-tiny"))
    backbone.save_pretrained(tmp_path / "backbone")
    backbone = UCIP.from_pretrained(tmp_path / "backbone")
    backbone.add_prompts("avif", init_from="webp", metadata={"codec": "avif", "levels": [24]})
    with torch.no_grad():
        for param in backbone.train_only_prompts("avif"):  # a tuned pack: no longer the webp task it started from
            param.add_(0.5 * torch.randn_like(param))
    backbone.save_prompts(tmp_path / "avif-pack", "avif")
    backbone.unload_prompts("avif")
    fine_tuned = UCIP.from_pretrained(tmp_path / "backbone")
    with torch.no_grad():
        for param in fine_tuned.parameters():  # stands in for a fine-tuned backbone
            param.add_(0.01 * torch.randn_like(param))
    fine_tuned.save_pretrained(tmp_path / "full-avif")
    write_tuning_record(tmp_path / "full-avif", {"codec": "avif"}, method="full", task="hevc")
    (tmp_path / "set").mkdir()
    for name in ("baby.png", "bird.png"):
        shutil.copy(shared_dir / "data" / "eval" / "set5" / name, tmp_path / "set")
    out = tmp_path / "results" / "quality.json"
    models = ["--backbone", str(tmp_path / "backbone"), "--packs", str(tmp_path / "avif-pack"),
              "--compare", str(tmp_path / "full-avif")]

    def evaluate(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(REPO / "recipes" / "evaluate.py"), "--data", str(tmp_path / "set"),
               "--vvc-bitstreams", str(shared_dir / "data" / "vvc" / "eval" / "set5"), "--levels", "37",
               "--out", str(out), "--cache-dir", str(tmp_path / "cache"), *args]
        return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})

    result = evaluate(*models, "--codecs", "vvc,avif")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert set(rows) == {"set|vvc|37", "set|avif|37"}
    vvc, avif = rows["set|vvc|37"], rows["set|avif|37"]
    with_pack = UCIP.from_pretrained(tmp_path / "backbone")
    with_pack.load_prompts(tmp_path / "avif-pack")
    expected = expected_rows(shared_dir, tmp_path / "set", with_pack, UCIP.from_pretrained(tmp_path / "full-avif"))
    assert vvc["images"] == avif["images"] == 2 and set(vvc) == {"images", "bpp", "bicubic", "backbone"}
    tried = {f"task:{task}": scores for task, scores in avif["zero_shot"]["all"].items()}
    assert set(tried) == {f"task:{task}" for task in SEEN_TASKS}
    scored = {"vvc": vvc, "avif": {**avif, **tried}}
    for codec, columns in expected.items():
        for column, value in columns.items():
            # The recipe ran on another thread count, so a few outputs may round to the neighbouring uint8
            # (each flip moves a mean by ~1e-7 to 1e-6); a wrong task or model moves it far more.
            assert scored[codec][column] == pytest.approx(value, rel=0, abs=1e-4), (codec, column)
    best = max(SEEN_TASKS, key=lambda task: avif["zero_shot"]["all"][task]["psnr_y"])
    assert avif["zero_shot"] == {**avif["zero_shot"]["all"][best], "task": best, "all": avif["zero_shot"]["all"]}
    assert avif["pack:avif"]["psnr_y"] != tried["task:webp"]["psnr_y"] and avif["full:avif"] != tried["task:hevc"]
    table = out.with_suffix(".md").read_text()
    assert "| set | avif | 37 |" in table and "avif: " in table
    zero_shot, bicubic = avif["zero_shot"]["psnr_y"], avif["bicubic"]["psnr_y"]
    assert "| backbone / zero-shot - bicubic | pack - backbone / zero-shot |" in table
    assert (f"| set | avif | 1 | {bicubic:.2f} | {zero_shot - bicubic:+.2f} | {avif['pack:avif']['psnr_y'] - zero_shot:+.3f} | "
            f"{avif['full:avif']['psnr_y'] - zero_shot:+.3f} |") in table
    both = (vvc["backbone"]["psnr_y"] + zero_shot) / 2 - (vvc["bicubic"]["psnr_y"] + bicubic) / 2
    assert f"| set | all | 2 | {(vvc['bicubic']['psnr_y'] + bicubic) / 2:.2f} | {both:+.2f} |" in table

    # --resume reuses every score of an unchanged model: the new codec is scored, the finished rows are
    # not, and the avif zero-shot is narrowed to the one seen task now asked for, from its earlier score
    result = evaluate(*models, "--codecs", "vvc,avif,heic", "--zero-shot-tasks", "webp", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = json.loads(out.read_text())["rows"]
    assert resumed["set|vvc|37"] == vvc
    webp = avif["zero_shot"]["all"]["webp"]
    assert resumed["set|avif|37"] == {**avif, "zero_shot": {**webp, "task": "webp", "all": {"webp": webp}}}
    assert set(resumed["set|heic|37"]["zero_shot"]["all"]) == {"webp"}
    assert "set|avif|37:" not in result.stdout and "set|vvc|37:" not in result.stdout and "set|heic|37: scored" in result.stdout

    # a retuned pack at the same path is scored again; bicubic, the backbone and the compared model are not
    retuned = UCIP.from_pretrained(tmp_path / "backbone")
    name = retuned.load_prompts(tmp_path / "avif-pack")
    with torch.no_grad():
        for param in retuned.train_only_prompts(name):
            param.add_(0.5 * torch.randn_like(param))
    retuned.save_prompts(tmp_path / "avif-pack", name)
    narrowed = resumed["set|avif|37"]
    result = evaluate(*models, "--codecs", "avif", "--zero-shot-tasks", "webp", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    rescored = json.loads(out.read_text())["rows"]["set|avif|37"]
    assert "set|avif|37: scored pack:avif;" in result.stdout
    assert rescored["pack:avif"] != narrowed["pack:avif"]
    assert {k: v for k, v in rescored.items() if k != "pack:avif"} == {k: v for k, v in narrowed.items() if k != "pack:avif"}

    # without the pack and the compared model, their columns go; nothing is scored again
    result = evaluate("--backbone", str(tmp_path / "backbone"), "--codecs", "avif", "--zero-shot-tasks", "webp", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    backbone_only = json.loads(out.read_text())["rows"]["set|avif|37"]
    assert backbone_only == {k: v for k, v in narrowed.items() if k not in ("pack:avif", "full:avif")}
    assert "set|avif|37:" not in result.stdout

    # --record-in-packs writes the pack's per-set means into its metadata and card; its weights stay as they were
    pack_file = tmp_path / "avif-pack" / "prompt_pack.safetensors"
    before = read_pack(pack_file)
    result = evaluate(*models, "--codecs", "avif", "--zero-shot-tasks", "webp", "--resume", "--record-in-packs")
    assert result.returncode == 0, result.stderr[-3000:]
    row = json.loads(out.read_text())["rows"]["set|avif|37"]
    recorded = read_pack(pack_file)
    assert recorded.metadata == {**before.metadata, "evaluation": {"weights_sha256": weights_fingerprint(before.tensors), "sets": {"set": {
        "images": 2, "levels": [37], "zero_shot_task": "webp",
        **{metric: {column: round(row[key][metric], 4) for column, key in (("bicubic", "bicubic"), ("zero_shot", "zero_shot"), ("pack", "pack:avif"))}
           for metric in ("psnr_y", "ssim_y")}}}}}
    assert all(torch.equal(recorded.tensors[key], tensor) for key, tensor in before.tensors.items())
    card = (tmp_path / "avif-pack" / "README.md").read_text()
    psnr = recorded.metadata["evaluation"]["sets"]["set"]["psnr_y"]
    assert (f"| set | 2 | 37 | {psnr['bicubic']:.2f} | {psnr['zero_shot']:.2f} (`webp`) | {psnr['pack']:.2f} | "
            f"{psnr['pack'] - psnr['zero_shot']:+.3f} |") in card
    assert "name: set\n      type: set" in card and f"value: {round(psnr['pack'], 3)}" in card
    # the pack still loads on its backbone; once its weights change, the evaluation is no longer theirs and is not saved
    changed = UCIP.from_pretrained(tmp_path / "backbone")
    name = changed.load_prompts(tmp_path / "avif-pack")
    assert changed.get_prompt_pack(name).metadata["evaluation"] == recorded.metadata["evaluation"]
    with torch.no_grad():
        next(iter(changed.train_only_prompts(name))).add_(0.1)
    changed.save_prompts(tmp_path / "changed-pack", name)
    assert "evaluation" not in read_pack(tmp_path / "changed-pack" / "prompt_pack.safetensors").metadata
    assert "Evaluation sets" not in (tmp_path / "changed-pack" / "README.md").read_text()
    refused = evaluate(*models[:2], "--packs", "ucip-adapt/ucip-small-x4-avif", "--codecs", "avif", "--record-in-packs")
    assert refused.returncode != 0 and "ucip-adapt/ucip-small-x4-avif is not a local path" in refused.stderr

    # a task the backbone lacks is named
    refused = evaluate(*models, "--codecs", "avif", "--zero-shot-tasks", "heic")
    assert refused.returncode != 0 and "--zero-shot-tasks heic: not tasks of the backbone" in refused.stderr

    # a retrained backbone rescores every row but bicubic; the files written after each row hold only
    # whole rows (an earlier row whose backbone score was dropped is not written half-scored)
    result = evaluate(*models[:2], "--codecs", "vvc,avif", "--zero-shot-tasks", "webp", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    vvc = json.loads(out.read_text())["rows"]["set|vvc|37"]
    with torch.no_grad():
        for param in backbone.parameters():
            param.add_(0.01 * torch.randn_like(param))
    backbone.save_pretrained(tmp_path / "retrained")
    result = evaluate("--backbone", str(tmp_path / "retrained"), "--codecs", "vvc,avif", "--zero-shot-tasks", "webp", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "set|vvc|37: scored backbone;" in result.stdout and "set|avif|37: scored task:webp;" in result.stdout
    retrained = json.loads(out.read_text())["rows"]
    assert set(retrained) == {"set|vvc|37", "set|avif|37"}
    assert retrained["set|vvc|37"]["bicubic"] == vvc["bicubic"] and retrained["set|vvc|37"]["backbone"] != vvc["backbone"]
