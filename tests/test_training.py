"""The trainer and recipes on real images: what trains, exact resume, DDP agreement, methods."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ucip_adapt import UCIP
from ucip_adapt.codecs import get_codec
from ucip_adapt.config import preset
from ucip_adapt.image_degradation import degrade, make_clean_pair
from ucip_adapt.image_io import read_image
from ucip_adapt.metrics import psnr_y
from ucip_adapt.prompts import read_pack
from ucip_adapt.training.batches import PatchBatches
from ucip_adapt.training.evaluation import bicubic_upscale
from ucip_adapt.training.launch import LaunchError, check_precision, make_accelerator
from ucip_adapt.training.loop import LoopConfig, train
from ucip_adapt.training.methods import setup_method
from ucip_adapt.training.pairs import ImagePair
from ucip_adapt.training.tuning_defaults import EMBEDDED_PHOTOS, OWN_DATA

REPO = Path(__file__).resolve().parents[1]
TUNE = REPO / "recipes" / "tune_prompts.py"


@pytest.fixture(scope="module")
def workspace(shared_dir, tmp_path_factory) -> Path:
    """A tiny backbone, four Kodak photos (kodim03 trains, kodim04-05 validate, kodim06 is held out)
    and a shared degradation cache."""
    root = tmp_path_factory.mktemp("training")
    torch.manual_seed(0)
    UCIP(preset("ucip-tiny")).save_pretrained(root / "backbone")
    (root / "hr").mkdir()
    for index in (3, 4, 5, 6):
        shutil.copy(shared_dir / "data" / "eval" / "kodak24" / f"kodim{index:02d}.png", root / "hr")
    return root


def tune_command(workspace: Path, out: str, *extra: str) -> list[str]:
    return [
        "--codec", "avif", "--levels", "24", "--data", str(workspace / "hr"), "--backbone", str(workspace / "backbone"),
        "--heldout-fraction", "0.25", "--validation-fraction", "0.2", "--max-eval-pairs", "2", "--eval-every", "2", "--steps", "6", "--batch-size", "4", "--patch-size", "24",
        "--checkpoint-every", "2", "--cache-dir", str(workspace / "cache"), "--output-dir", str(workspace / out), *extra,
    ]


def run(args: list[str], launcher: list[str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = (launcher or [sys.executable]) + [str(TUNE)] + args
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, **kwargs)


def checksums(state: dict[str, torch.Tensor]) -> dict[str, str]:
    return {k: hashlib.sha256(v.contiguous().numpy().tobytes()).hexdigest() for k, v in state.items()}


@pytest.fixture(scope="module")
def uninterrupted(workspace) -> Path:
    result = run(tune_command(workspace, "prompt-run"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "after tuning" in result.stdout and "prompt_pack.safetensors" in result.stdout
    return workspace / "prompt-run"


def starting_prompts(workspace: Path, task: str) -> dict[str, torch.Tensor]:
    """The pack tensors a run starts from: seen task ``task``'s prompts copied into the new slot."""
    start = UCIP.from_pretrained(workspace / "backbone")
    start.add_prompts("avif", init_from=task)
    return start.prompt_state_dict("avif")


def heldout_scores(workspace: Path, pack: Path, start: str) -> dict:
    """The held-out PSNR-Y a run reports, computed here from its files: kodim06 through AVIF 24, upscaled
    by bicubic, by every seen task of the backbone and by the written pack."""
    pair = degrade(read_image(workspace / "hr" / "kodim06.png"), get_codec("avif"), 24)
    lr = torch.from_numpy(pair.compressed.lr).permute(2, 0, 1)[None].float() / 255
    model = UCIP.from_pretrained(workspace / "backbone")
    name = model.load_prompts(pack)

    def psnr_of(task: str) -> float:
        with torch.no_grad():
            sr = model.upscale(lr, task=task)[0].permute(1, 2, 0).mul(255).round().byte().numpy()
        return psnr_y(sr, pair.hr)

    zero_shot = {task: psnr_of(task) for task in model.tasks}
    return {"bicubic": psnr_y(bicubic_upscale(pair.compressed.lr), pair.hr), "zero_shot": zero_shot, "best_seen_task": start,
            "before": zero_shot[start], "after": psnr_of(name)}


def tune_prompts_args(argv: list[str]):
    """The flags ``recipes/tune_prompts.py`` runs with for ``argv``, defaults filled."""
    spec = importlib.util.spec_from_file_location("recipe_tune_prompts", TUNE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_args(argv)


def test_tuning_defaults_follow_the_data_and_give_way_to_flags():
    """The quick start (no --data) tunes gently on its few photos; a folder gets the shipped packs' settings."""
    quick = tune_prompts_args(["--codec", "avif"])
    assert (quick.steps, quick.patch_size, quick.eval_every, quick.lr) == (100, [96], 50, 2e-4) == (
        EMBEDDED_PHOTOS.steps, [EMBEDDED_PHOTOS.patch_size], EMBEDDED_PHOTOS.eval_every, EMBEDDED_PHOTOS.prompt_lr)
    folder = tune_prompts_args(["--codec", "avif", "--data", "photos"])
    assert (folder.steps, folder.patch_size, folder.eval_every, folder.lr) == (300, [112], 100, 2e-3)
    assert tune_prompts_args(["--codec", "avif", "--data", "photos", "--method", "full"]).lr == 2e-4
    assert tune_prompts_args(["--codec", "avif", "--data", "photos", "--method", "lora"]).lr == 1e-3
    given = tune_prompts_args(["--codec", "avif", "--data", "photos", "--steps", "7", "--patch-size", "64", "80",
                               "--eval-every", "0", "--lr", "5e-4"])
    assert (given.steps, given.patch_size, given.eval_every, given.lr) == (7, [64, 80], 0, 5e-4)


def test_prompt_tuning_changes_only_the_pack(workspace):
    result = run(tune_command(workspace, "last-state-run", "--select", "last"))
    assert result.returncode == 0, result.stderr[-3000:]
    out = workspace / "last-state-run"
    backbone = UCIP.from_pretrained(workspace / "backbone")
    before = checksums(backbone.backbone_state_dict())
    pack = read_pack(out / "final" / "prompt_pack.safetensors")
    assert pack.metadata["codec"] == "avif" and pack.metadata["levels"] == [24] and pack.metadata["steps"] == 6
    reported, computed = pack.metadata["psnr_y"], heldout_scores(workspace, out / "final", pack.metadata["psnr_y"]["best_seen_task"])
    # The recipe ran in another process with its own thread count: a pixel may round the other way
    # (measured up to 5e-7 dB), while scoring with a wrong task is off by more than 0.01 dB.
    assert reported.pop("zero_shot") == pytest.approx(computed.pop("zero_shot"), abs=1e-4)
    assert reported == pytest.approx(computed, abs=1e-4) and computed["after"] != computed["before"]
    assert pack.metadata["selection"]["rule"] == "last" and pack.metadata["selection"]["step"] == 6
    backbone.load_prompts(out / "final")  # fingerprint of the untouched backbone matches
    assert checksums(backbone.backbone_state_dict()) == before
    initial = starting_prompts(workspace, pack.metadata["psnr_y"]["best_seen_task"])
    changed = [k for k, v in pack.tensors.items() if not torch.equal(v, initial[k])]
    assert len(changed) == len(pack.tensors)  # every pack tensor trained
    checkpoint = sorted(out.glob("checkpoint-*"))[-1]
    stored = load_file(checkpoint / "trainable.safetensors")
    assert stored and all(".prompt.packs.avif." in k for k in stored)  # no frozen tensor in checkpoints
    assert not (checkpoint / "best.safetensors").exists()


def test_the_written_pack_is_the_best_validated_state(workspace, uninterrupted):
    summary = json.loads((uninterrupted / "summary.json").read_text())
    scores = {e["step"]: e["psnr_y"] for e in summary["evaluations"]}
    assert sorted(scores) == [0, 2, 4, 6]  # the start, then every --eval-every
    best_step = max(scores, key=lambda step: (scores[step], -step))  # ties keep the earlier state
    assert summary["selection"]["rule"] == "best" and summary["selection"]["step"] == best_step
    assert summary["selection"]["score"] == scores[best_step]
    best_seen = summary["psnr_y"]["best_seen_task"]
    assert best_seen == max(summary["selection"]["validation_zero_shot"], key=summary["selection"]["validation_zero_shot"].get)
    assert scores[0] == summary["selection"]["validation_zero_shot"][best_seen]  # step 0 is the start, scored the same way
    pack = read_pack(uninterrupted / "final" / "prompt_pack.safetensors")
    kept = load_file(sorted(uninterrupted.glob("checkpoint-*"))[-1] / "best.safetensors")
    kept = {key.replace(".prompt.packs.avif.", ".prompt.packs."): tensor for key, tensor in kept.items()}
    assert kept.keys() == pack.tensors.keys()
    for key, tensor in pack.tensors.items():
        assert torch.equal(tensor, kept[key])


def test_the_runs_table_reports_what_the_run_wrote(workspace, uninterrupted):
    """benchmarks/tuning_runs.py: one row per run, its settings and held-out numbers from summary.json."""
    summary = json.loads((uninterrupted / "summary.json").read_text())
    assert summary["lr"] == OWN_DATA.prompt_lr  # the default with --data, recorded so that settings studies can be told apart
    assert f"learning rate {summary['lr']:g}" in (uninterrupted / "final" / "README.md").read_text()
    table = subprocess.run([sys.executable, str(REPO / "benchmarks" / "tuning_runs.py"), str(uninterrupted)],
                           capture_output=True, text=True, check=True).stdout
    row = [cell.strip().strip("*`") for cell in table.splitlines()[2].strip("|").split("|")]
    psnr, selection = summary["psnr_y"], summary["selection"]
    assert row[:8] == ["prompt-run", "avif", "prompt", "6", "24", f"{summary['lr']:g}", str(summary["train_pairs"]), str(selection["step"])]
    assert row[9:15] == [f"{psnr['bicubic']:.3f}", f"{psnr['before']:.3f} (`{psnr['best_seen_task']}`)", f"{psnr['after']:.3f}",
                         f"{psnr['after'] - psnr['before']:+.4f}", f"{summary['trainable_parameters']:,}",
                         f"{(uninterrupted / 'final' / 'prompt_pack.safetensors').stat().st_size / 1024:,.1f} KiB"]


def test_a_run_that_only_loses_writes_its_start_and_says_so(workspace):
    result = run(tune_command(workspace, "diverging-run", "--lr", "300"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nothing beat the start" in result.stdout and "nothing to ship" in result.stdout
    summary = json.loads((workspace / "diverging-run" / "summary.json").read_text())
    assert summary["selection"]["step"] == 0
    assert summary["psnr_y"]["after"] == summary["psnr_y"]["before"]  # the held-out score of the start itself
    pack = read_pack(workspace / "diverging-run" / "final" / "prompt_pack.safetensors")
    initial = starting_prompts(workspace, summary["psnr_y"]["best_seen_task"])
    for key, tensor in pack.tensors.items():
        assert torch.equal(tensor, initial[key])
    card = (workspace / "diverging-run" / "final" / "README.md").read_text()
    assert "no trained state beat it" in card


def test_kill_9_then_resume_reaches_the_same_pack(workspace, uninterrupted):
    args = tune_command(workspace, "killed-run")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, str(TUNE), *args], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list((workspace / "killed-run").glob("checkpoint-00000002")) and time.time() < deadline:
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (workspace / "killed-run" / "final").exists()
    refused = run(args)
    assert refused.returncode != 0 and "--resume" in refused.stderr
    resized = run(args + ["--resume", "--num-prompts", "16"])  # a larger pack cannot take the checkpoint's tensors
    refusal = resized.stderr.strip().splitlines()[-1]
    assert resized.returncode != 0 and "of shape (8, 16), this run's is (16, 16)" in refusal, resized.stderr[-3000:]
    resumed = run(args + ["--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    first = read_pack(uninterrupted / "final" / "prompt_pack.safetensors").tensors
    second = read_pack(workspace / "killed-run" / "final" / "prompt_pack.safetensors").tensors
    for key in first:
        torch.testing.assert_close(second[key], first[key], atol=1e-6, rtol=1e-5)


def test_two_gloo_processes_agree_with_one(workspace, uninterrupted):
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517"]
    result = run(tune_command(workspace, "ddp-run"), launcher=launcher, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    single = read_pack(uninterrupted / "final" / "prompt_pack.safetensors").tensors
    ddp = read_pack(workspace / "ddp-run" / "final" / "prompt_pack.safetensors").tensors
    for key in single:
        torch.testing.assert_close(ddp[key], single[key], atol=1e-4, rtol=1e-3)


def test_gradient_accumulation_gives_the_update_of_the_whole_batch(shared_data, tmp_path):
    """Batches of two crops taken as two micro-batches of one (--gradient-accumulation-steps 2) train a pack
    as whole batches do: the same losses and, after three Adam steps, the same prompts to float rounding
    (measured 1e-6 apart, having moved 1.7e-3)."""
    pairs = []
    for name in ("kodim01.png", "kodim02.png"):
        hr, lr = make_clean_pair(read_image(shared_data / "eval" / "kodak24" / name)[:128, :128])
        pairs.append(ImagePair(lr, hr, "avif", name))

    def trained(accumulation: int) -> tuple[list, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The losses, and the pack's tensors before and after three steps."""
        torch.manual_seed(0)
        setup = setup_method("prompt", UCIP(preset("ucip-tiny")), "avif", "jpeg")
        before = {name: p.detach().clone() for name, p in setup.trainable.items()}
        accelerator = make_accelerator(mixed_precision="no", gradient_accumulation_steps=accumulation, project_dir=str(tmp_path))
        config = LoopConfig(steps=3, learning_rate=1e-3, output_dir=str(tmp_path / f"accumulation-{accumulation}"))
        batches = PatchBatches(pairs, batch_size=2, patch_sizes=[16], seed=0)
        result, _ = train(accelerator=accelerator, model=setup.model, trainable=setup.trainable, batches=batches, config=config)
        return result.losses, before, {name: p.detach().clone() for name, p in setup.trainable.items()}

    whole_losses, initial, whole = trained(1)
    accumulated_losses, _, accumulated = trained(2)
    assert [step for step, _ in accumulated_losses] == [1, 2, 3]
    assert [loss for _, loss in accumulated_losses] == pytest.approx([loss for _, loss in whole_losses], rel=1e-6)
    for name, tensor in whole.items():
        assert (tensor - initial[name]).abs().max() > 1e-4, name  # trained
        torch.testing.assert_close(accumulated[name], tensor, atol=1e-5, rtol=0)


def test_plain_num_processes_on_cpu_is_refused(workspace):
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no"]
    result = run(tune_command(workspace, "refused-run"), launcher=launcher, timeout=300)
    assert result.returncode != 0 and "--multi_gpu" in result.stderr


def test_fp16_is_refused_on_cpu():
    with pytest.raises(LaunchError, match="bf16"):
        check_precision("fp16", use_cuda=False)
    check_precision("bf16", use_cuda=False)


THREAD_PROBE = """
import os, sys, torch
from ucip_adapt.training.launch import make_accelerator
threads = int(sys.argv[2]) if len(sys.argv) > 2 else None
make_accelerator(mixed_precision="no", gradient_accumulation_steps=1, project_dir=sys.argv[1], threads=threads)
print(os.environ.get("OMP_NUM_THREADS"), torch.get_num_threads())
"""


def test_a_bare_accelerate_launch_trains_on_every_core_of_a_cpu(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(THREAD_PROBE)
    env = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
    launch = [sys.executable, "-m", "accelerate.commands.launch"]

    def threads(command: list[str], extra_env: dict[str, str] | None = None) -> list[str]:
        result = subprocess.run(command, capture_output=True, text=True, env={**env, **(extra_env or {})}, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout.split()

    cores = str(len(os.sched_getaffinity(0)))
    # accelerate's launcher sets OMP_NUM_THREADS=1 for its one process; the run still uses every core.
    assert threads([*launch, str(probe), str(tmp_path)]) == ["1", cores]
    assert threads([*launch, str(probe), str(tmp_path), "1"]) == ["1", "1"]  # --threads 1
    # Without the launcher, a thread count the user set is kept.
    assert threads([sys.executable, str(probe), str(tmp_path)], {"OMP_NUM_THREADS": "1"}) == ["1", "1"]
    with pytest.raises(LaunchError, match="--threads must be at least 1"):
        make_accelerator(mixed_precision="no", gradient_accumulation_steps=1, project_dir=str(tmp_path), threads=0)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_comparison_methods_write_loadable_outputs(workspace, method):
    result = run(tune_command(workspace, f"{method}-run", "--method", method, "--steps", "2", "--select", "last"))
    assert result.returncode == 0, result.stderr[-3000:]
    final = workspace / f"{method}-run" / "final"
    backbone = UCIP.from_pretrained(workspace / "backbone")
    lr = torch.rand(1, 3, 16, 16)
    if method == "lora":
        from peft import PeftModel

        assert (final / "adapter_config.json").is_file()
        task = json.loads((final / "tuning.json").read_text())["task"]
        assert task in backbone.tasks
        # PEFT starts every LoRA B at zero (the adapted network is the backbone): each must have moved.
        lora_b = {key: tensor for key, tensor in load_file(final / "adapter_model.safetensors").items() if ".lora_B." in key}
        assert lora_b and [key for key, tensor in lora_b.items() if not tensor.any()] == []
        with torch.no_grad():
            before = backbone(lr, task=task)
            after = PeftModel.from_pretrained(backbone, final)(lr, task=task)
        assert after.shape == (1, 3, 64, 64) and (after - before).abs().max() > 1e-4
    else:
        model = UCIP.from_pretrained(final)
        changed = [k for k, v in model.backbone_state_dict().items() if not torch.equal(v, backbone.backbone_state_dict()[k])]
        assert len(changed) > 100  # the whole network trained
