"""Downloads over real HTTP from olah (a Hub mirror) on 127.0.0.1, then offline from the cache and
from the bundled copy: from_pretrained, load_prompts, snapshot_download, list_repo_packs, pinning.

olah must be set up first (``bash tests/hub_servers/setup_olah.sh``); without it these tests fail
and say so. Each client runs in a subprocess (see ``hub_servers.client``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hub_servers.client import run_client
from hub_servers.olah_mirror import OlahServer, publish
from ucip_adapt import UCIP
from ucip_adapt.config import preset
from ucip_adapt.prompts.fingerprint import weights_fingerprint

BACKBONE_ID = "ucip-test/backbone"
PACKS_ID = "ucip-test/packs"
BACKBONE_FILES = ("config.json", "model.safetensors", "README.md")


def tiny_backbone(seed: int, folder: Path) -> UCIP:
    torch.manual_seed(seed)
    model = UCIP(preset("ucip-tiny"))
    model.save_pretrained(folder)
    return UCIP.from_pretrained(folder)


def tuned_pack(model: UCIP, codec: str, folder: Path) -> str:
    """Tune (perturb) a pack for ``codec``, save it to ``folder``; return its tensors' fingerprint."""
    model.add_prompts(codec, init_from="jpeg", metadata={"levels": [8, 24], "psnr_y": {"after": 27.25}})
    with torch.no_grad():
        for p in model.train_only_prompts(codec):
            p.add_(torch.randn_like(p) * 0.3)
    model.save_prompts(folder, codec)
    return weights_fingerprint(model.prompt_state_dict(codec))


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> dict:
    """Two revisions of a backbone (tag v1, then main) and a repo of two packs tuned on main, as git repos for olah."""
    root = tmp_path_factory.mktemp("olah")
    mirrors = root / "mirrors"
    old, new = tiny_backbone(0, root / "v1"), tiny_backbone(1, root / "v2")
    v1_commit = publish(mirrors, BACKBONE_ID, {f: root / "v1" / f for f in BACKBONE_FILES}, "backbone v1", tag="v1")
    publish(mirrors, BACKBONE_ID, {f: root / "v2" / f for f in BACKBONE_FILES}, "backbone v2")
    packs = {codec: tuned_pack(new, codec, root / codec) for codec in ("avif", "jxl")}
    packs_commit = publish(mirrors, PACKS_ID, {f"{codec}/{name}": root / codec / name for codec in packs
                                               for name in ("prompt_pack.safetensors", "README.md")}, "avif and jxl packs")
    return {
        "root": root, "mirrors": mirrors, "v1_commit": v1_commit,
        "inputs": {
            "backbone": BACKBONE_ID, "packs": PACKS_ID, "v1_commit": v1_commit, "packs_commit": packs_commit, "v1_folder": str(root / "v1"),
            "empty_cache": str(root / "empty-cache"), "jxl_folder": str(root / "jxl"), "pulled": str(root / "pulled"),
            "pulled_backbone": str(root / "pulled-backbone"),
        },
        "fingerprints": {"v1": weights_fingerprint(old.backbone_state_dict()), "v2": weights_fingerprint(new.backbone_state_dict()), **packs},
    }


ONLINE = """
import contextlib, io
from huggingface_hub import snapshot_download
from ucip_adapt import UCIP
from ucip_adapt.bundled import register_bundled
from ucip_adapt.cli import main as cli
from ucip_adapt.prompts import PromptPackError
from ucip_adapt.prompts.fingerprint import weights_fingerprint
from ucip_adapt.prompts.sharing import list_repo_packs

fp = lambda model: weights_fingerprint(model.backbone_state_dict())

def printed(argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli(argv)
    return [code, out.getvalue().splitlines()]

latest = UCIP.from_pretrained(inputs["backbone"])
by_tag = UCIP.from_pretrained(inputs["backbone"], revision="v1")
by_commit = UCIP.from_pretrained(inputs["backbone"], revision=inputs["v1_commit"])
name = latest.load_prompts(inputs["packs"], subfolder="avif")
pinned_pack = latest.load_prompts(inputs["packs"], subfolder="jxl", revision=inputs["packs_commit"], adapter_name="jxl_pinned")
try:
    UCIP.from_pretrained(inputs["backbone"], local_files_only=True, cache_dir=inputs["empty_cache"])
    local_files_only = "downloaded"
except Exception as exc:
    local_files_only = type(exc).__name__
try:
    by_tag.load_prompts(inputs["packs"], subfolder="avif")
    refusal = None
except PromptPackError as exc:
    refusal = str(exc)
snapshot = snapshot_download(inputs["backbone"])
register_bundled(inputs["backbone"], inputs["v1_folder"])
register_bundled("ucip-test/unpublished", inputs["v1_folder"])
emit({
    "latest": fp(latest), "by_tag": fp(by_tag), "by_commit": fp(by_commit),
    "pack_name": name, "pack": weights_fingerprint(latest.prompt_state_dict(name)),
    "pinned_pack": weights_fingerprint(latest.prompt_state_dict(pinned_pack)), "local_files_only": local_files_only,
    "refusal": refusal, "packs_after_refusal": by_tag.pack_names,
    "listed": [[p.path_in_repo, p.subfolder, p.weight_name, p.metadata["codec"]] for p in list_repo_packs(inputs["packs"])],
    "snapshot": sorted(os.listdir(snapshot)),
    "registered_but_online": fp(UCIP.from_pretrained(inputs["backbone"])),
    "not_on_hub": fp(UCIP.from_pretrained("ucip-test/unpublished")),
    "pull_exit": cli(["pull", inputs["packs"], "--subfolder", "jxl", "--local-dir", inputs["pulled"]]),
    "pull_list": printed(["pull", inputs["packs"], "--list"]),
    "pull_list_without_packs": printed(["pull", inputs["backbone"], "--list"]),
    "pull_backbone": printed(["pull", inputs["backbone"], "--backbone", "--revision", "v1", "--local-dir", inputs["pulled_backbone"]]),
})
"""

WITHOUT_SERVER = """
from huggingface_hub import snapshot_download
from ucip_adapt import UCIP
from ucip_adapt.bundled import DEFAULT_BACKBONE_ID, register_bundled
from ucip_adapt.cli import main as cli
from ucip_adapt.prompts.fingerprint import weights_fingerprint

def outcome(call):
    try:
        return weights_fingerprint(call().backbone_state_dict())
    except Exception as exc:
        return type(exc).__name__

latest = UCIP.from_pretrained(inputs["backbone"])
name = latest.load_prompts(inputs["packs"], subfolder="avif")
result = {
    "latest": weights_fingerprint(latest.backbone_state_dict()),
    "by_tag": outcome(lambda: UCIP.from_pretrained(inputs["backbone"], revision="v1")),
    "by_commit": outcome(lambda: UCIP.from_pretrained(inputs["backbone"], revision=inputs["v1_commit"])),
    "pack": weights_fingerprint(latest.prompt_state_dict(name)),
    "snapshot": sorted(os.listdir(snapshot_download(inputs["backbone"]))),
    "unknown_without_cache": outcome(lambda: UCIP.from_pretrained(inputs["backbone"], cache_dir=inputs["empty_cache"])),
}
register_bundled(inputs["backbone"], inputs["v1_folder"])
register_bundled(DEFAULT_BACKBONE_ID, inputs["v1_folder"])
result.update({
    "registered_with_cache": outcome(lambda: UCIP.from_pretrained(inputs["backbone"])),
    "registered_without_cache": outcome(lambda: UCIP.from_pretrained(inputs["backbone"], cache_dir=inputs["empty_cache"])),
    "pinned_without_cache": outcome(lambda: UCIP.from_pretrained(inputs["backbone"], revision="v1", cache_dir=inputs["empty_cache"])),
    "default": outcome(lambda: UCIP.from_pretrained()),
    "pull_exit": cli(["pull", inputs["packs"], "--subfolder", "jxl", "--local-dir", inputs["pulled"]]),
})
emit(result)
"""


@pytest.fixture(scope="module")
def online(mirror) -> dict:
    """The ONLINE client's findings while olah serves the mirror; it leaves its downloads in ``hf_home``."""
    with OlahServer(mirror["mirrors"], mirror["root"] / "olah-run") as url:
        result = run_client(ONLINE, inputs=mirror["inputs"], hf_env={"HF_ENDPOINT": url, "HF_HOME": str(mirror["root"] / "hf-home")})
    return {**result, "endpoint": url}


def test_latest_and_pinned_revisions(online, mirror):
    fps = mirror["fingerprints"]
    assert (online["latest"], online["by_tag"], online["by_commit"]) == (fps["v2"], fps["v1"], fps["v1"])
    assert online["snapshot"] == sorted(BACKBONE_FILES)
    assert online["local_files_only"] == "LocalEntryNotFoundError", "local_files_only never downloads"


def test_packs_in_subfolders_load_and_list(online, mirror):
    assert online["pack_name"] == "avif" and online["pack"] == mirror["fingerprints"]["avif"]
    assert online["pinned_pack"] == mirror["fingerprints"]["jxl"]
    assert online["listed"] == [["avif/prompt_pack.safetensors", "avif", "prompt_pack.safetensors", "avif"],
                                ["jxl/prompt_pack.safetensors", "jxl", "prompt_pack.safetensors", "jxl"]]


def test_pack_for_another_backbone_is_refused_before_touching_the_model(online):
    assert "tuned on another backbone" in online["refusal"] and online["packs_after_refusal"] == []


def test_hub_copy_wins_online_and_bundled_copy_stands_in_for_a_missing_repo(online, mirror):
    assert online["registered_but_online"] == mirror["fingerprints"]["v2"]
    assert online["not_on_hub"] == mirror["fingerprints"]["v1"]


def test_pull_command_copies_the_pack_bit_exact(online, mirror):
    assert online["pull_exit"] == 0
    pulled = mirror["root"] / "pulled" / "jxl" / "prompt_pack.safetensors"
    assert pulled.read_bytes() == (mirror["root"] / "jxl" / "prompt_pack.safetensors").read_bytes()


def test_pull_lists_the_packs_of_a_repository_and_fetches_a_pinned_backbone(online, mirror):
    root = mirror["root"]
    assert online["pull_list"] == [0, [f"{codec}/prompt_pack.safetensors: prompt pack '{codec}' for codec {codec}, levels [8, 24], "
                                       f"base {root / 'v2'}, PSNR-Y 27.25 dB" for codec in ("avif", "jxl")]]
    assert online["pull_list_without_packs"] == [0, [f"{BACKBONE_ID} holds no prompt pack."]]
    pulled = root / "pulled-backbone"
    assert online["pull_backbone"] == [0, ["UCIP backbone, tasks ['jpeg', 'hevc', 'vvc', 'webp', 'clean'], 226,435 parameters",
                                           f"config.json: {pulled / 'config.json'}", f"model.safetensors: {pulled / 'model.safetensors'}"]]
    for name in ("config.json", "model.safetensors"):  # revision v1, not main's v2
        assert (pulled / name).read_bytes() == (root / "v1" / name).read_bytes()


@pytest.mark.parametrize("offline", ["1", "0"], ids=["HF_HUB_OFFLINE", "network-down"])
def test_without_the_server_cache_then_bundled_copy(online, mirror, offline):
    """The server is gone: with HF_HUB_OFFLINE=1, and as a machine whose network is down."""
    fps = mirror["fingerprints"]
    result = run_client(WITHOUT_SERVER, inputs={**mirror["inputs"], "pulled": str(mirror["root"] / f"pulled-{offline}")},
                        hf_env={"HF_ENDPOINT": online["endpoint"], "HF_HOME": str(mirror["root"] / "hf-home"), "HF_HUB_OFFLINE": offline})
    assert result == {
        "latest": fps["v2"], "by_tag": fps["v1"], "by_commit": fps["v1"], "pack": fps["avif"],
        "snapshot": sorted(BACKBONE_FILES),
        "unknown_without_cache": "LocalEntryNotFoundError",
        "registered_with_cache": fps["v2"],  # the cache comes before the bundled copy
        "registered_without_cache": fps["v1"],
        "pinned_without_cache": "LocalEntryNotFoundError",  # a bundled copy never stands in for a pinned revision
        "default": fps["v1"],  # UCIP.from_pretrained() is the default id, here registered
        "pull_exit": 0,
    }
    pulled = mirror["root"] / f"pulled-{offline}" / "jxl" / "prompt_pack.safetensors"
    assert pulled.read_bytes() == (mirror["root"] / "jxl" / "prompt_pack.safetensors").read_bytes()
