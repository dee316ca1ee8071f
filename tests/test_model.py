"""The UCIP network: presets, task routing, inference helper, strict Hub-format round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from ucip_adapt import UCIP
from ucip_adapt.modeling.ucip import pad_for_inference
from ucip_adapt.config import PRESETS, UCIPConfig, preset
from ucip_adapt.modeling.anchor import bicubic_upscale
from ucip_adapt.modeling.axial_sampling import axial_shift_sample
from ucip_adapt.modeling.dynamic_prompt import DynamicPrompt
from ucip_adapt.modeling.routing import TaskRouting


def count(model: UCIP) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def tiny() -> UCIP:
    torch.manual_seed(0)
    return UCIP(preset("ucip-tiny")).eval()


def test_preset_sizes():
    """The README's preset table: parameters with each preset's own tasks (six for the release, five else)."""
    assert count(UCIP(PRESETS["ucip-middle"])) == 11_424_291
    assert count(UCIP(PRESETS["ucip-small"])) == 1_042_179  # the bundled ucip-small-x4, as its model card says
    assert count(UCIP(PRESETS["ucip-tiny"])) == 226_435


def test_config_rejects_nonsense():
    with pytest.raises(ValueError, match="unique"):
        UCIPConfig(tasks=["jpeg", "jpeg"])
    with pytest.raises(ValueError, match="x4"):
        UCIPConfig(scale=2)


def test_axial_sampling_equals_bilinear_grid_sample():
    """The gather-based shift equals grid_sample(bilinear, zeros, align_corners=True) per channel."""
    torch.manual_seed(0)
    b, h, w, c = 2, 7, 9, 5
    x = torch.randn(b, h, w, c, dtype=torch.float64)
    offset = torch.randn(b, h, w, c, dtype=torch.float64) * 4  # many samples land outside the image
    for dim in (1, 2):
        ours = axial_shift_sample(x, offset, dim)
        ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
        images = x.permute(0, 3, 1, 2).reshape(b * c, 1, h, w)
        off = offset.permute(0, 3, 1, 2).reshape(b * c, h, w)
        px, py = (xs + off, ys.expand_as(off)) if dim == 2 else (xs.expand_as(off), ys + off)
        grid = torch.stack([px / (w - 1) * 2 - 1, py / (h - 1) * 2 - 1], dim=-1)
        reference = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        reference = reference.reshape(b, c, h, w).permute(0, 2, 3, 1)
        torch.testing.assert_close(ours, reference, atol=1e-12, rtol=0)


def test_offsets_receive_gradients(tiny):
    lr = torch.rand(1, 3, 16, 16)
    out = tiny(lr, task="jpeg")
    out.mean().backward()
    grad = tiny.stages[0].blocks[0].offsets.proj.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    tiny.zero_grad(set_to_none=True)


def test_task_by_name_index_and_per_sample(tiny):
    lr = torch.rand(3, 3, 16, 24)
    with torch.no_grad():
        by_name = tiny(lr, task="hevc")
        by_index = tiny(lr, task=1)
        mixed = tiny(lr, task=["webp", 0, "vvc"])
        separate = torch.cat([tiny(lr[0:1], "webp"), tiny(lr[1:2], "jpeg"), tiny(lr[2:3], "vvc")])
    assert torch.equal(by_name, by_index)
    torch.testing.assert_close(mixed, separate, atol=1e-4, rtol=0)
    assert not torch.allclose(mixed[0], tiny(lr[0:1], "jpeg")[0], atol=1e-3)  # tasks really differ


def test_mixed_task_prompts_keep_the_prompts_dtype_under_autocast():
    """Under bf16 autocast the coefficient heads return bf16 prompts while the features can arrive in
    float32 (they do on a GPU): a batch mixing tasks must gather its prompts in the prompts' dtype."""
    torch.manual_seed(0)
    module = DynamicPrompt(dim=8, prompt_dim=4, num_prompts=3, num_tasks=2)
    features = torch.rand(2, 5, 6, 8)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = module(features, TaskRouting((1, 0)))
        separate = torch.cat([module(features[0:1], TaskRouting((1,))), module(features[1:2], TaskRouting((0,)))])
    assert mixed.dtype == torch.bfloat16
    torch.testing.assert_close(mixed, separate, atol=0, rtol=0)


def test_task_errors_list_the_choices(tiny):
    lr = torch.rand(2, 3, 8, 8)
    with pytest.raises(KeyError, match=r"Backbone tasks: \['jpeg', 'hevc', 'vvc', 'webp', 'clean'\]"):
        tiny(lr, task="avif")
    with pytest.raises(IndexError, match="slots 0..4"):
        tiny(lr, task=[2, 7])
    with pytest.raises(ValueError, match="one per sample"):
        tiny(lr, task=["jpeg"] * 3)
    with pytest.raises(ValueError, match="set_prompts"):
        tiny(lr)


def test_forward_is_raw_and_upscale_clamps_and_crops(tiny):
    lr = torch.rand(1, 3, 13, 21)
    with torch.no_grad():
        raw = tiny(torch.rand(1, 3, 16, 16), task="jpeg")
    assert raw.min() < 0 or raw.max() > 1  # an untrained network leaves [0, 1]: forward does not clamp
    sr = tiny.upscale(lr, task="jpeg")
    assert sr.shape == (1, 3, 52, 84)
    assert sr.min() >= 0 and sr.max() <= 1


def test_save_and_load_round_trip_exactly(tiny, tmp_path):
    tiny.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["tasks"] == ["jpeg", "hevc", "vvc", "webp", "clean"] and config["depths"] == [2, 2]
    loaded = UCIP.from_pretrained(tmp_path)
    assert loaded.config == tiny.config
    for name, tensor in tiny.backbone_state_dict().items():
        assert torch.equal(loaded.backbone_state_dict()[name], tensor), name
    card = (tmp_path / "README.md").read_text()
    assert "library_name: ucip-adapt" in card and "jpeg, hevc, vvc, webp" in card


@pytest.mark.parametrize("damage, message", [
    ("drop", r"missing 1: stages\.0\.blocks\.1\.mlp\.fc1\.bias"),
    ("extra", r"unexpected 1: stray\.weight"),
    ("reshape", r"mis-shaped 1: upsampler\.conv_out\.bias: file \(4,\) vs model \(3,\)"),
])
def test_loading_is_strict(tiny, tmp_path, damage, message):
    tiny.save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    state = load_file(weights)
    if damage == "drop":
        del state["stages.0.blocks.1.mlp.fc1.bias"]
    elif damage == "extra":
        state["stray.weight"] = torch.zeros(2)
    else:
        state["upsampler.conv_out.bias"] = torch.zeros(4)
    save_file(state, weights)
    with pytest.raises(ValueError, match=message):
        UCIP.from_pretrained(tmp_path)


def test_truncated_weights_are_refused(tiny, tmp_path):
    tiny.save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        UCIP.from_pretrained(tmp_path)


def test_axial_sampling_keeps_positions_exact_in_bf16():
    """bf16 cannot represent 257.5: positions must be computed in float32 under autocast."""
    x = torch.arange(300, dtype=torch.float32).view(1, 1, 300, 1)
    offset = torch.full((1, 1, 300, 1), 0.5, dtype=torch.bfloat16)
    sampled = axial_shift_sample(x, offset, dim=2)
    assert sampled[0, 0, 257, 0].item() == 257.5


def test_compiled_blocks_match_eager_and_serve_every_task_mix():
    """Regional compilation keeps the parameter names and the outputs, and a new mix of per-sample tasks
    reuses the compiled blocks instead of recompiling (whole-model compilation recompiles per mix)."""
    torch.manual_seed(0)
    eager = UCIP(preset("ucip-tiny")).eval()
    compiled = UCIP(preset("ucip-tiny")).eval()
    compiled.load_state_dict(eager.state_dict())
    compiled.compile_blocks()
    assert list(compiled.state_dict()) == list(eager.state_dict())
    lr = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(compiled(lr, task=["jpeg", "vvc"]), eager(lr, task=["jpeg", "vvc"]), atol=1e-4, rtol=0)
        with torch._dynamo.config.patch(error_on_recompile=True):
            torch.testing.assert_close(compiled(lr, task=["webp", "hevc"]), eager(lr, task=["webp", "hevc"]), atol=1e-4, rtol=0)


def test_an_untrained_anchored_model_is_pillow_bicubic(shared_data):
    """Zero last convolution: the output is the anchor, which is Pillow's bicubic x4 (up to its fixed-point rounding)."""
    from PIL import Image

    model = UCIP(preset("ucip-small")).eval()
    assert model.config.anchor == "bicubic"
    hr = Image.open(shared_data / "eval" / "kodak24" / "kodim03.png").convert("RGB")
    lr = np.asarray(hr.resize((hr.width // 4, hr.height // 4), Image.BICUBIC))
    pillow = np.asarray(Image.fromarray(lr).resize((lr.shape[1] * 4, lr.shape[0] * 4), Image.BICUBIC)).astype(int)
    for task in model.tasks:
        sr = model.upscale(torch.from_numpy(lr.copy()).permute(2, 0, 1)[None].float() / 255, task=task)
        ours = (sr[0].permute(1, 2, 0).numpy() * 255).round().astype(int)
        differing = np.abs(ours - pillow)
        assert differing.max() <= 1 and (differing > 0).mean() < 0.005, task


def test_the_anchor_is_a_config_field_the_release_does_not_have(tmp_path):
    anchored = UCIP(preset("ucip-tiny", anchor="bicubic"))
    anchored.save_pretrained(tmp_path / "anchored")
    assert json.loads((tmp_path / "anchored" / "config.json").read_text())["anchor"] == "bicubic"
    assert UCIP.from_pretrained(tmp_path / "anchored").config.anchor == "bicubic"
    assert PRESETS["ucip-middle"].anchor is None and "anchor" not in PRESETS["ucip-middle"].architecture()
    with pytest.raises(ValueError, match="anchor must be one of"):
        UCIPConfig(anchor="lanczos")


def test_warm_start_adds_the_anchor_and_a_task_and_keeps_the_body():
    from ucip_adapt.modeling.warm_start import warm_start

    torch.manual_seed(0)
    source = UCIP(preset("ucip-tiny", tasks=["jpeg", "webp"])).eval()
    target = warm_start(source, preset("ucip-tiny", tasks=["jpeg", "webp", "clean"], anchor="bicubic"), {"clean": "webp"}).eval()
    banks = [(s.prompt.bank, t.prompt.bank) for s, t in zip(source.stages, target.stages)]
    assert all(torch.equal(t[:2], s) and torch.equal(t[2], s[1]) for s, t in banks)
    assert torch.equal(target.stem.weight, source.stem.weight)
    lr = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(target(lr, task="clean"), bicubic_upscale(lr), atol=0, rtol=0)
    with pytest.raises(ValueError, match="clean=webp"):
        warm_start(source, preset("ucip-tiny", tasks=["jpeg", "clean"]), {})
    with pytest.raises(ValueError, match="body"):
        warm_start(source, preset("ucip-tiny", tasks=["jpeg", "webp"], embed_dim=64), {})


def test_small_inputs_are_mirrored_out_to_the_side_the_backbone_trained_on():
    """min_inference_side: the output of a small input is the crop of the output of its mirrored
    extension; without it (1) only the release's padding to a multiple of 8 applies."""
    torch.manual_seed(0)
    model = UCIP(preset("ucip-tiny", min_inference_side=32)).eval()
    lr = torch.rand(1, 3, 5, 12)
    extended = pad_for_inference(lr, 32)
    assert extended.shape[-2:] == (32, 32) and torch.equal(extended[..., :5, :12], lr)
    assert torch.equal(extended[..., 5:9, :12], lr.flip(-2)[..., 1:, :])  # mirrored, the edge row not repeated
    with torch.no_grad():
        torch.testing.assert_close(model.upscale(lr, "jpeg"), model(extended, "jpeg")[..., :20, :48].clamp(0, 1))
    assert pad_for_inference(lr, 1).shape[-2:] == (8, 16)
    assert pad_for_inference(torch.rand(1, 3, 1, 1), 32).shape[-2:] == (32, 32)
    assert "min_inference_side" not in model.config.architecture()  # packs do not depend on it
