"""recipes/evaluate.py on real photos: seen codecs use their task, unseen ones zero-shot and packs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from ucip_adapt import UCIP
from ucip_adapt.config import SEEN_TASKS, preset
from ucip_adapt.prompts.fingerprint import weights_fingerprint
from ucip_adapt.prompts.pack_file import read_pack
from ucip_adapt.training.methods import write_tuning_record

REPO = Path(__file__).resolve().parents[1]


def test_quality_table(shared_dir, tmp_path):
    torch.manual_seed(0)
    backbone = UCIP(preset("ucip-tiny"))
    backbone.save_pretrained(tmp_path / "backbone")
    backbone = UCIP.from_pretrained(tmp_path / "backbone")
    backbone.add_prompts("avif", init_from="webp", metadata={"codec": "avif", "levels": [24]})
    backbone.save_prompts(tmp_path / "avif-pack", "avif")
    backbone.unload_prompts("avif")
    backbone.save_pretrained(tmp_path / "full-avif")  # stands in for a fine-tuned backbone: same weights
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
    assert vvc["images"] == 2 and 0.05 < vvc["bpp"] < 3 and "backbone" in vvc and "zero_shot" not in vvc
    assert 20 < vvc["bicubic"]["psnr_y"] < 40 and 0 < vvc["bicubic"]["ssim_y"] <= 1
    assert avif["zero_shot"]["task"] in SEEN_TASKS and len(avif["zero_shot"]["all"]) == len(SEEN_TASKS)
    assert avif["zero_shot"]["psnr_y"] == max(v["psnr_y"] for v in avif["zero_shot"]["all"].values())
    assert avif["pack:avif"]["psnr_y"] == avif["zero_shot"]["all"]["webp"]["psnr_y"]  # an untrained pack = its start
    assert avif["full:avif"] == avif["zero_shot"]["all"]["hevc"]
    assert "full:avif" not in vvc
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
