"""Prompt packs: creation, training helper, file format, loading, mixing and refusal."""

from __future__ import annotations

import copy
import os
import stat

import pytest
import torch
from safetensors import safe_open

from ucip_adapt import UCIP
from ucip_adapt.atomic import atomic_path
from ucip_adapt.config import preset
from ucip_adapt.prompts import PromptPackError, read_pack
from ucip_adapt.prompts.fingerprint import weights_fingerprint


@pytest.fixture()
def backbone(tmp_path) -> UCIP:
    """A tiny backbone as users get it: saved, then loaded with from_pretrained."""
    torch.manual_seed(0)
    UCIP(preset("ucip-tiny")).save_pretrained(tmp_path / "backbone")
    return UCIP.from_pretrained(tmp_path / "backbone")


def tuned_pack(model: UCIP, name: str = "avif") -> UCIP:
    """Add a pack and give it weights of its own, as training would."""
    model.add_prompts(name, init_from="jpeg", metadata={"levels": [8, 24, 32, 38]})
    with torch.no_grad():
        for p in model.train_only_prompts(name):
            p.add_(torch.randn_like(p) * 0.3)
    return model


def test_train_only_prompts_marks_exactly_the_pack(backbone):
    model = tuned_pack(backbone)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".prompt.packs.avif." in n for n in trainable)
    c, d, cp, stages = 32, 8, 16, 2
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == stages * (d * cp + c * d + d + d * d + d)


def test_pack_file_holds_only_the_pack(backbone, tmp_path):
    model = tuned_pack(backbone)
    path = model.save_prompts(tmp_path / "pack", "avif")
    with safe_open(str(path), "pt") as handle:
        keys = set(handle.keys())
    assert keys == {f"stages.{i}.prompt.packs.{k}" for i in range(2)
                    for k in ("bank", "coef_head.fc1.weight", "coef_head.fc1.bias", "coef_head.fc2.weight", "coef_head.fc2.bias")}
    pack = read_pack(path)
    assert pack.metadata["codec"] == "avif" and pack.metadata["levels"] == [8, 24, 32, 38]
    assert pack.metadata["base_fingerprint"] == model.backbone_fingerprint()
    assert path.stat().st_size < 20_000
    card = (tmp_path / "pack" / "README.md").read_text()
    assert "base_model_relation: adapter" in card and "codec-avif" in card


def test_pack_reloads_onto_the_backbone_and_mixes_with_tasks(backbone, tmp_path):
    model = tuned_pack(backbone)
    path = model.save_prompts(tmp_path / "avif.safetensors", "avif")
    fresh = UCIP.from_pretrained(backbone.name_or_path)
    assert fresh.load_prompts(path) == "avif"
    lr = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        expected = model(lr, task="avif")
        assert torch.equal(fresh(lr, task="avif"), expected)
        mixed = fresh(lr, task=["avif", "jpeg", "avif"])
        torch.testing.assert_close(mixed[1], fresh(lr[1:2], "jpeg")[0], atol=1e-4, rtol=0)
        torch.testing.assert_close(mixed[[0, 2]], fresh(lr[[0, 2]], "avif"), atol=1e-4, rtol=0)
        assert not torch.allclose(expected, fresh(lr, task="jpeg"), atol=1e-3)


def test_a_larger_pack_starts_as_its_task_and_reloads_at_its_size(backbone, tmp_path):
    exact = copy.deepcopy(backbone).double()  # in float64, so that only the mathematics is compared
    exact.add_prompts("avif", init_from="jpeg", num_prompts=20)
    lr = torch.rand(2, 3, 16, 16)
    with torch.no_grad():  # 20 prompts copied from jpeg's 8 (each 2 or 3 times) compute what jpeg computes
        torch.testing.assert_close(exact(lr.double(), task="avif"), exact(lr.double(), task="jpeg"), atol=1e-6, rtol=0)
    backbone.add_prompts("avif", init_from="jpeg", num_prompts=20)
    bank = backbone.stages[0].prompt.packs["avif"].bank
    assert bank.shape == (20, 16) and not torch.equal(bank[0], bank[8])  # copies differ, so training can separate them
    c, cp, stages = 32, 16, 2
    trainable = sum(p.numel() for p in backbone.train_only_prompts("avif"))
    assert trainable == stages * (20 * cp + c * 20 + 20 + 20 * 20 + 20)
    with torch.no_grad():
        for p in backbone.train_only_prompts("avif"):
            p.add_(torch.randn_like(p) * 0.3)
        expected = backbone(lr, task="avif")
    path = backbone.save_prompts(tmp_path / "pack", "avif")
    assert read_pack(path).metadata["shapes"]["num_prompts"] == 20 and read_pack(path).metadata["num_parameters"] == trainable
    assert f"Trained parameters: {trainable:,} (20 basic prompts and a coefficient head per stage)" in (tmp_path / "pack" / "README.md").read_text()
    fresh = UCIP.from_pretrained(backbone.name_or_path)
    fresh.load_prompts(path)
    with torch.no_grad():
        assert torch.equal(fresh(lr, task="avif"), expected)
    with pytest.raises(ValueError, match="at least the backbone's 8 basic prompts"):
        fresh.add_prompts("jxl", num_prompts=4)


def test_load_from_state_dict_and_second_name(backbone):
    model = tuned_pack(backbone)
    state = model.prompt_state_dict("avif")
    assert model.load_prompts(state, adapter_name="avif_copy") == "avif_copy"
    lr = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(lr, "avif_copy"), model(lr, "avif"))
    with pytest.raises(ValueError, match="already loaded"):
        model.load_prompts(state, adapter_name="avif")
    with pytest.raises(ValueError, match="task of the backbone"):
        model.load_prompts(state, adapter_name="jpeg")
    with pytest.raises(ValueError, match="adapter_name"):
        model.load_prompts(state)


def test_set_list_unload(backbone):
    model = tuned_pack(backbone)
    model.set_prompts("avif")
    lr = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(lr), model(lr, "avif"))
    assert list(model.list_prompts()) == ["avif"] and model.list_prompts()["avif"]["levels"] == [8, 24, 32, 38]
    model.unload_prompts("avif")
    assert model.list_prompts() == {} and model.active_task is None
    assert not any(".packs." in n for n in model.state_dict())
    with pytest.raises(KeyError, match="No prompt pack"):
        model.unload_prompts("avif")


def test_pack_for_other_weights_is_refused_before_touching_the_model(backbone, tmp_path):
    path = tuned_pack(backbone).save_prompts(tmp_path / "pack", "avif")
    torch.manual_seed(1)
    other = UCIP(preset("ucip-tiny"))
    with pytest.raises(PromptPackError, match="weights fingerprint"):
        other.load_prompts(tmp_path / "pack")
    assert other.pack_names == []
    bigger = UCIP(preset("ucip-tiny", depths=[2, 2, 2]))
    with pytest.raises(PromptPackError, match="config fingerprint"):
        bigger.load_prompts(path)


def test_wrong_shapes_from_a_state_dict_are_refused(backbone):
    state = tuned_pack(backbone).prompt_state_dict("avif")
    state["stages.0.prompt.packs.bank"] = torch.zeros(4, 16)
    with pytest.raises(PromptPackError, match=r"mis-shaped 1: stages\.0\.prompt\.packs\.bank: file \(4, 16\) vs model \(8, 16\)"):
        backbone.load_prompts(state, adapter_name="broken")
    assert "broken" not in backbone.pack_names


def test_truncated_and_foreign_files_are_refused(backbone, tmp_path):
    path = tuned_pack(backbone).save_prompts(tmp_path / "pack", "avif")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(PromptPackError, match="truncated or corrupt"):
        backbone.load_prompts(truncated, adapter_name="x")
    with pytest.raises(FileNotFoundError, match="nor a Hub repo id"):
        backbone.load_prompts(tmp_path / "missing.safetensors", adapter_name="x")
    with pytest.raises(PromptPackError, match="not a UCIP prompt pack"):
        backbone.load_prompts(tmp_path / "backbone" / "model.safetensors", adapter_name="x")


def test_failed_write_keeps_the_previous_file(backbone, tmp_path):
    model = tuned_pack(backbone)
    path = model.save_prompts(tmp_path / "avif.safetensors", "avif")
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half a pack")
            raise RuntimeError("killed mid-write")
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".avif*"))


def test_saved_files_get_the_usual_permissions(backbone, tmp_path):
    """The private temporary file must not leave a saved pack or model readable by its owner only."""
    previous = os.umask(0o022)
    try:
        path = tuned_pack(backbone).save_prompts(tmp_path / "avif.safetensors", "avif")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_recorded_evaluation_keeps_its_order_and_a_malformed_one_is_dropped(backbone, tmp_path):
    model = tuned_pack(backbone)
    scores = {"images": 2, "levels": [8], "zero_shot_task": "jpeg",
              "psnr_y": {"bicubic": 24.0, "zero_shot": 24.1, "pack": 24.2}, "ssim_y": {"bicubic": 0.6, "zero_shot": 0.61, "pack": 0.62}}
    sets = {"kodak24": scores, "set14": scores, "bsd100": scores}
    evaluation = {"weights_sha256": weights_fingerprint(model.prompt_state_dict("avif")), "sets": sets}
    model.save_prompts(tmp_path / "scored", "avif", metadata={"evaluation": evaluation})
    # read and saved again (as `push_prompts_to_hub` does): the sets stay in the order they were scored
    fresh = UCIP.from_pretrained(backbone.name_or_path)
    name = fresh.load_prompts(tmp_path / "scored")
    fresh.save_prompts(tmp_path / "resaved", name)
    assert list(read_pack(tmp_path / "resaved" / "prompt_pack.safetensors").metadata["evaluation"]["sets"]) == list(sets)
    card = (tmp_path / "resaved" / "README.md").read_text()
    assert card.index("| kodak24 |") < card.index("| set14 |") < card.index("| bsd100 |")
    # an evaluation that is not a mapping names no weights: it is dropped, not an error
    model.save_prompts(tmp_path / "malformed", "avif", metadata={"evaluation": "scored elsewhere"})
    assert "evaluation" not in read_pack(tmp_path / "malformed" / "prompt_pack.safetensors").metadata


def test_saving_the_same_pack_again_leaves_the_file_untouched(backbone, tmp_path):
    """The header's key order differs between runs, so an identical re-save would otherwise change the bytes."""
    model = tuned_pack(backbone)
    path = model.save_prompts(tmp_path / "avif.safetensors", "avif")
    first = path.stat()
    model.save_prompts(path, "avif")
    assert path.stat().st_ino == first.st_ino and path.stat().st_mtime_ns == first.st_mtime_ns
    with torch.no_grad():
        next(iter(model.train_only_prompts("avif"))).add_(0.1)
    model.save_prompts(path, "avif")
    assert path.stat().st_ino != first.st_ino
    assert read_pack(path).metadata["name"] == "avif"
