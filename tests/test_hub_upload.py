"""Uploads over real HTTP to a small Hub on 127.0.0.1 (``hub_servers.upload_hub``), then a bit-exact
pull: push_to_hub, push_prompts_to_hub (root and sub-folders), ``ucip-adapt push``, model cards,
private repos and tokens. The client runs in a subprocess (see ``hub_servers.client``).
"""

from __future__ import annotations

import hashlib

import pytest
import torch
from huggingface_hub import ModelCard

from hub_servers.client import run_client
from hub_servers.upload_hub import UploadHub
from ucip_adapt import UCIP
from ucip_adapt.blind import CodecEstimator, EstimatorConfig
from ucip_adapt.config import preset

WRITE_TOKEN = "hf_test_write_token"
BACKBONE_ID = "me/ucip-tiny"
PSNR = {"avif": {"bicubic": 25.5, "before": 26.75, "after": 27.25, "best_seen_task": "jpeg"},
        "jxl": {"bicubic": 25.0, "before": 26.0, "after": 26.5, "best_seen_task": "webp"}}

PUSH_AND_PULL = """
import hashlib
import torch
from huggingface_hub.errors import HfHubHTTPError
from ucip_adapt import UCIP
from ucip_adapt.blind import CodecEstimator, EstimatorConfig
from ucip_adapt.cli import main as cli
from ucip_adapt.hub import resolve_file
from ucip_adapt.prompts.fingerprint import weights_fingerprint
from ucip_adapt.prompts.sharing import list_repo_packs

sha = lambda path: hashlib.sha256(open(path, "rb").read()).hexdigest()
UCIP.from_pretrained(inputs["backbone_folder"]).push_to_hub(inputs["backbone"])
model = UCIP.from_pretrained(inputs["backbone"])  # packs record the Hub id as their base_model
torch.manual_seed(0)
for codec, psnr in inputs["psnr"].items():
    model.add_prompts(codec, init_from="jpeg", metadata={"levels": [8, 24, 32], "psnr_y": psnr, "data": "photos", "heldout_pairs": 12})
    with torch.no_grad():
        for p in model.train_only_prompts(codec):
            p.add_(torch.randn_like(p) * 0.3)
    model.save_prompts(f"{inputs['local']}/{codec}", codec)
    model.push_prompts_to_hub("me/packs", codec, subfolder=codec)
model.push_prompts_to_hub("me/avif", "avif")
model.push_prompts_to_hub("me/private-avif", "avif", private=True)
exits = [cli(["push", f"{inputs['local']}/jxl", "me/cli-jxl"]), cli(["push", inputs["backbone_folder"], "me/cli-backbone"])]
try:
    model.push_prompts_to_hub("me/anonymous", "avif", token=False)
    anonymous_push = "accepted"
except HfHubHTTPError as exc:
    anonymous_push = exc.response.status_code

fresh = UCIP.from_pretrained(inputs["backbone"])
names = [fresh.load_prompts("me/avif"), fresh.load_prompts("me/packs", subfolder="jxl")]
try:
    fresh.load_prompts("me/private-avif", adapter_name="private", token=False)
    anonymous_pull = "accepted"
except HfHubHTTPError as exc:
    anonymous_pull = type(exc).__name__
names.append(fresh.load_prompts("me/private-avif", adapter_name="private"))
lr = torch.rand(2, 3, 12, 12)
with torch.no_grad():
    same_outputs = all(torch.equal(model(lr, task=codec), fresh(lr, task=codec)) for codec in ("avif", "jxl"))
emit({
    "names": names, "same_outputs": same_outputs, "exits": exits,
    "anonymous_push": anonymous_push, "anonymous_pull": anonymous_pull,
    "backbone_round_trip": weights_fingerprint(fresh.backbone_state_dict()) == weights_fingerprint(model.backbone_state_dict()),
    "pulled_sha256": {
        "me/avif": sha(resolve_file("me/avif", "prompt_pack.safetensors")),
        "me/packs/jxl": sha(resolve_file("me/packs", "prompt_pack.safetensors", subfolder="jxl")),
        "me/cli-jxl": sha(resolve_file("me/cli-jxl", "prompt_pack.safetensors")),
    },
    "listed": [[p.path_in_repo, p.metadata["codec"], p.metadata["base_model"]] for p in list_repo_packs("me/packs")],
})
"""


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    """Push a backbone and packs every supported way, pull them back; yield the client's findings and the Hub."""
    root = tmp_path_factory.mktemp("upload")
    torch.manual_seed(0)
    UCIP(preset("ucip-tiny")).save_pretrained(root / "backbone")
    CodecEstimator(EstimatorConfig(codecs=["jpeg", "hevc", "vvc", "webp", "clean"])).save(root / "backbone" / "estimator")
    inputs = {"backbone": BACKBONE_ID, "backbone_folder": str(root / "backbone"), "local": str(root / "local"), "psnr": PSNR}
    with UploadHub(WRITE_TOKEN) as hub:
        result = run_client(PUSH_AND_PULL, inputs=inputs,
                            hf_env={"HF_ENDPOINT": hub.url, "HF_HOME": str(root / "hf-home"), "HF_TOKEN": WRITE_TOKEN})
        yield {"result": result, "hub": hub, "root": root}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_push_then_pull_is_bit_exact(pushed):
    result, hub = pushed["result"], pushed["hub"]
    local_jxl = (pushed["root"] / "local" / "jxl" / "prompt_pack.safetensors").read_bytes()
    assert hub.files("me/cli-jxl")["prompt_pack.safetensors"] == local_jxl, "ucip-adapt push uploads a pack file as it is"
    assert result["pulled_sha256"] == {
        "me/avif": sha256(hub.files("me/avif")["prompt_pack.safetensors"]),
        "me/packs/jxl": sha256(hub.files("me/packs")["jxl/prompt_pack.safetensors"]),
        "me/cli-jxl": sha256(local_jxl),
    }
    assert result["names"] == ["avif", "jxl", "private"] and result["same_outputs"] and result["backbone_round_trip"]


def test_backbone_push_uploads_config_weights_and_card(pushed):
    hub, folder = pushed["hub"], pushed["root"] / "backbone"
    assert pushed["result"]["exits"] == [0, 0]
    estimator = ["estimator/config.json", "estimator/model.safetensors"]
    for repo_id, with_estimator in ((BACKBONE_ID, False), ("me/cli-backbone", True)):
        files = hub.files(repo_id)
        assert sorted(files) == ["README.md", "config.json", *(estimator if with_estimator else []), "model.safetensors"]
        for name in estimator if with_estimator else []:  # the CLI pushes the folder's estimator; push_to_hub the one loaded (none)
            assert files[name] == (folder / name).read_bytes()
        assert files["model.safetensors"] == (folder / "model.safetensors").read_bytes()
        card = ModelCard(files["README.md"].decode())
        assert card.data.library_name == "ucip-adapt" and f'UCIP.from_pretrained("{repo_id}")' in card.text


def test_pack_card_declares_an_adapter_with_codec_levels_and_psnr(pushed):
    files = pushed["hub"].files("me/avif")
    assert sorted(files) == ["README.md", "prompt_pack.safetensors"]
    card = ModelCard(files["README.md"].decode())
    assert card.data.base_model == BACKBONE_ID and card.data.base_model_relation == "adapter"
    assert card.data.library_name == "ucip-adapt" and {"ucip-prompt-pack", "codec-avif"} <= set(card.data.tags)
    (result,) = card.data.eval_results
    assert (result.metric_type, result.metric_value) == ("psnr", 27.25)
    assert result.dataset_args == {"codec": "avif", "levels": [8, 24, 32]}
    assert "| backbone + this pack | 27.25 |" in card.text and "| bicubic | 25.50 |" in card.text


def test_several_packs_share_a_repo_with_one_card_for_all(pushed):
    files = pushed["hub"].files("me/packs")
    assert sorted(files) == ["README.md", "avif/README.md", "avif/prompt_pack.safetensors", "jxl/README.md", "jxl/prompt_pack.safetensors"]
    root_card = ModelCard(files["README.md"].decode())
    assert {"codec-avif", "codec-jxl"} <= set(root_card.data.tags) and root_card.data.base_model == BACKBONE_ID
    assert [r.metric_value for r in root_card.data.eval_results] == [27.25, 26.5]
    assert 'load_prompts("me/packs", subfolder="jxl")' in files["jxl/README.md"].decode()
    assert pushed["result"]["listed"] == [["avif/prompt_pack.safetensors", "avif", BACKBONE_ID], ["jxl/prompt_pack.safetensors", "jxl", BACKBONE_ID]]


def test_tokens_guard_writes_and_private_repos(pushed):
    assert pushed["result"]["anonymous_push"] == 401
    assert pushed["result"]["anonymous_pull"] == "RepositoryNotFoundError"
    assert "me/anonymous" not in pushed["hub"].repos
