"""The converter and the network reproduce the authors' code on their own tiny checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from ucip_adapt import UCIP
from ucip_adapt.config import RELEASE_TASKS, preset
from ucip_adapt.convert import convert_official_checkpoint, convert_official_state_dict

TINY_OFFICIAL = dict(depths=[2, 2], embed_dim=32, prompt_dim=16)


@pytest.fixture(scope="module")
def golden(golden_dir):
    return np.load(golden_dir / "golden.npz")


@pytest.fixture(scope="module")
def converted(golden_dir, tmp_path_factory):
    """The golden checkpoint converted through the CLI, then loaded with from_pretrained."""
    out = tmp_path_factory.mktemp("converted")
    cmd = [sys.executable, "-m", "ucip_adapt.cli", "convert-official", str(golden_dir / "checkpoint.pth"), "--out", str(out),
           "--depths", "2,2", "--embed-dim", "32", "--prompt-dim", "16"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return UCIP.from_pretrained(out)


@pytest.mark.parametrize("case", [0, 1, 2])
def test_outputs_match_authors_code(converted, golden, case):
    lr = torch.from_numpy(golden[f"case{case}_input"]).float()
    task_ids = golden[f"case{case}_task_id"].tolist()
    with torch.no_grad():
        sr = converted(lr, task=task_ids)
    expected = torch.from_numpy(golden[f"case{case}_output"])
    assert sr.shape == expected.shape
    assert expected.abs().max() > 15  # the reference is far from trivial
    assert (sr.double() - expected).abs().max().item() < 5e-5  # the README's claim; measured 3.6e-5 to 4.2e-5 (float32 rounding)


def test_intermediates_match(converted, golden):
    """Stem, first prompt and first stage agree too, so a mismatch would be located."""
    lr = torch.from_numpy(golden["case0_input"]).float()
    routing = converted.route([2], 1)
    with torch.no_grad():
        shallow = converted.stem(lr).permute(0, 2, 3, 1)
        prompt = converted.stages[0].prompt(shallow, routing)
        stage0 = converted.stages[0](shallow, routing)
    np.testing.assert_allclose(shallow.permute(0, 3, 1, 2).double(), golden["inter_case0_patch_embed_nchw"], atol=1e-4)
    np.testing.assert_allclose(prompt.double(), golden["inter_case0_stage0_prompt_nhwc"], atol=1e-5)
    np.testing.assert_allclose(stage0.double(), golden["inter_case0_stage0_out_nhwc"], atol=1e-4)


def test_release_key_set_maps_completely(shared_dir):
    """Every tensor of the 11.4 M-parameter release maps onto ucip-middle, nothing left on either side."""
    listing = json.loads((shared_dir / "design" / "ucip_middle_official_keys.json").read_text())
    official = {key: torch.zeros(shape) for key, shape, _ in listing["keys"]}
    model = UCIP(preset("ucip-middle"))
    expected = {k: t.shape for k, t in model.backbone_state_dict().items()}
    converted = convert_official_state_dict(official, expected)
    assert set(converted) == set(expected)
    assert sum(t.numel() for t in converted.values()) == listing["num_params"] == 11_424_291
    assert model.config.tasks == list(RELEASE_TASKS)


def test_wrong_shape_flags_name_the_problem(golden_dir):
    with pytest.raises(ValueError, match=r"missing \d+: stages\.2\.") as info:
        convert_official_checkpoint(golden_dir / "checkpoint.pth", preset("ucip-middle", depths=[2, 2, 2], embed_dim=32, prompt_dim=16))
    assert "--depths" in str(info.value)
    with pytest.raises(ValueError, match="mis-shaped"):
        convert_official_checkpoint(golden_dir / "checkpoint.pth", preset("ucip-middle", depths=[2, 2], embed_dim=32, prompt_dim=32))


def test_corrupt_checkpoint_is_refused(golden_dir, tmp_path):
    broken = tmp_path / "broken.pth"
    broken.write_bytes((golden_dir / "checkpoint.pth").read_bytes()[:5000])
    with pytest.raises(ValueError, match="truncated, corrupt"):
        convert_official_checkpoint(broken, preset("ucip-middle", **TINY_OFFICIAL))
