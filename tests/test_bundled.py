"""The shipped backbone and packs resolve by their Hub ids on a machine with no network and no cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ucip_adapt.bundled import DEFAULT_BACKBONE_ID, bundled_repos
from ucip_adapt.codecs import get_codec
from ucip_adapt.upscale import DEFAULT_PROMPT_PACKS, TaskChooser, load_model

OFFLINE_CLIENT = """
import json, torch
from ucip_adapt import UCIP
model = UCIP.from_pretrained()
names = [model.load_prompts(repo) for repo in {packs!r}]
packs = model.list_prompts()
starts = {{name: packs[name]["psnr_y"]["best_seen_task"] for name in names}}
lr = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(0))
unchanged = {{}}
for name in names:  # the pack a run starts from: its start task's prompts and the shared coefficient head
    model.add_prompts(f"{{name}}-start", init_from=starts[name])
    start_tensors = model.prompt_state_dict(f"{{name}}-start")
    unchanged[name] = [key for key, tensor in model.prompt_state_dict(name).items() if torch.equal(tensor, start_tensors[key])]
with torch.no_grad():
    gaps = {{name: (model(lr, task=name) - model(lr, task=starts[name])).abs().max().item() for name in names}}
print(json.dumps({{"tasks": model.tasks, "name_or_path": model.name_or_path, "packs": packs, "starts": starts,
                  "unchanged": unchanged, "gaps": gaps,
                  "parameters": sum(p.numel() for p in model.backbone_state_dict().values())}}))
"""


def test_backbone_and_packs_load_offline_with_an_empty_cache(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-hf-home"), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", OFFLINE_CLIENT.format(packs=list(DEFAULT_PROMPT_PACKS))],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.splitlines()[-1])
    assert loaded["name_or_path"] == DEFAULT_BACKBONE_ID and loaded["tasks"] == ["jpeg", "hevc", "vvc", "webp", "clean"]
    assert loaded["parameters"] == 1_042_179  # ucip-small with its five seen tasks; packs are not backbone tensors
    assert sorted(loaded["packs"]) == ["avif", "h264", "heic", "jpeg2000", "jxl"]
    for name, metadata in loaded["packs"].items():
        assert metadata["codec"] == name and metadata["levels"] == list(get_codec(name).levels)
        # tune_prompts.py starts from the seen task that scores best on the validation photos and records it
        validation = metadata["selection"]["validation_zero_shot"]
        assert loaded["starts"][name] == max(validation, key=validation.get) and loaded["starts"][name] in loaded["tasks"]
        # a tuned pack: a trained state was written, and it differs from the start in every tensor and in its output
        assert metadata["selection"]["step"] > 0
        assert loaded["unchanged"][name] == []
        assert loaded["gaps"][name] > 1e-4
    assert not (tmp_path / "empty-hf-home").exists() or not any((tmp_path / "empty-hf-home").rglob("*.safetensors"))


def test_pull_gives_the_bundled_backbone_offline_and_list_says_it_needs_the_hub(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-hf-home"), "OMP_NUM_THREADS": "1"}

    def pull(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ucip_adapt.cli", "pull", *args], capture_output=True, text=True, env=env, cwd=tmp_path)

    pulled = pull(DEFAULT_BACKBONE_ID, "--backbone", "--local-dir", str(tmp_path / "pulled"))
    assert pulled.returncode == 0, pulled.stderr[-3000:]
    assert pulled.stdout.splitlines() == ["UCIP backbone, tasks ['jpeg', 'hevc', 'vvc', 'webp', 'clean'], 1,042,179 parameters",
                                          f"config.json: {tmp_path / 'pulled' / 'config.json'}",
                                          f"model.safetensors: {tmp_path / 'pulled' / 'model.safetensors'}"]
    for name in ("config.json", "model.safetensors"):
        assert (tmp_path / "pulled" / name).read_bytes() == (bundled_repos()[DEFAULT_BACKBONE_ID] / name).read_bytes()
    listed = pull(DEFAULT_PROMPT_PACKS[0], "--list")  # listing asks the Hub: no bundled copy stands in
    assert listed.returncode == 2 and listed.stdout == ""
    assert len(listed.stderr.splitlines()) == 1 and "this needs the Hub, but offline mode is on (HF_HUB_OFFLINE=1)" in listed.stderr


def test_shipped_folders_are_small_and_carry_cards():
    repos = bundled_repos()
    assert set(repos) >= {DEFAULT_BACKBONE_ID, *DEFAULT_PROMPT_PACKS}
    for repo in DEFAULT_PROMPT_PACKS:
        folder = repos[repo]
        assert (folder / "prompt_pack.safetensors").stat().st_size < 128 * 1024  # 8 basic prompts per stage: 24 KiB, 32: 102 KiB
        card = (folder / "README.md").read_text()
        assert "base_model: ucip-adapt/ucip-small-x4" in card and "ucip-prompt-pack" in card
    backbone_card = (repos[DEFAULT_BACKBONE_ID] / "README.md").read_text()
    assert "## Training" in backbone_card and "NVIDIA H100" in backbone_card and "## Quality" in backbone_card


def test_upscale_routes_every_unseen_codec_to_its_bundled_pack():
    """`ucip-adapt upscale` loads every default pack and sends a file of each unseen codec to its pack
    (HEIC no longer falls back to the HEVC task once its own pack is there)."""
    chooser = TaskChooser(load_model())
    for repo in DEFAULT_PROMPT_PACKS:
        codec = repo.rsplit("-", 1)[1]
        assert chooser.explain(codec, codec.upper()).task == codec
