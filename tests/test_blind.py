"""``task="auto"``: the bundled codec estimator routes pictures by their pixels alone, on real photos
the estimator never trained on (Kodak), through the API, the task chooser and the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from ucip_adapt import UCIP
from ucip_adapt.blind import AUTO_TASK, CodecEstimator, load_estimator
from ucip_adapt.cli import main as cli_main
from ucip_adapt.upscale import TaskChooser, load_model
from ucip_adapt.upscale.loading import load_estimator_of


@pytest.fixture(scope="module")
def model() -> UCIP:
    return load_model()


@pytest.fixture(scope="module")
def kodak_lr(shared_data: Path) -> np.ndarray:
    """A Kodak photo as it would be sent: x4 bicubic downscale of a 512x384 crop, 128x96."""
    photo = Image.open(sorted((shared_data / "eval" / "kodak24").iterdir())[4]).convert("RGB")
    return np.asarray(photo.crop((0, 0, 512, 384)).resize((128, 96), Image.Resampling.BICUBIC))


def jpeg_then_png(rgb: np.ndarray, quality: int) -> np.ndarray:
    """The pixels of a JPEG that was later saved as PNG (the PNG keeps the JPEG's artifacts exactly)."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def test_a_png_of_a_jpeg_goes_to_a_jpeg_task_and_a_clean_png_to_clean(model: UCIP, kodak_lr: np.ndarray) -> None:
    chooser = TaskChooser(model, estimator=load_estimator_of(model))
    from_jpeg = chooser.explain(None, "PNG", jpeg_then_png(kodak_lr, 20))
    assert from_jpeg.task == "jpeg" and from_jpeg.reason.startswith("estimated jpeg"), from_jpeg
    clean = chooser.explain(None, "PNG", kodak_lr)
    assert clean.task == "clean" and clean.reason.startswith("estimated clean"), clean
    assert chooser.explain("webp", "WEBP", kodak_lr).task == "webp"  # the container still decides when it can


def test_a_codec_with_no_task_or_pack_goes_to_its_measured_fallback(kodak_lr: np.ndarray, tmp_path: Path) -> None:
    from ucip_adapt.codecs import get_codec
    from ucip_adapt.upscale import DEFAULT_PROMPT_PACKS, read_input

    model = load_model(prompts=[repo for repo in DEFAULT_PROMPT_PACKS if not repo.endswith("-h264")])  # no h264 pack
    stream = tmp_path / "frame.264"
    stream.write_bytes(get_codec("h264").encode(kodak_lr, 38))
    image = read_input(stream)
    estimator = load_estimator_of(model)
    choice = TaskChooser(model, estimator=estimator).explain(image.codec, image.format_name, image.rgb)
    assert image.codec == "h264" and choice.task == estimator.config.fallback_tasks["h264"] in model.tasks
    assert choice.reason == f"container: {image.format_name}; no pack loaded; the seen task best on it in training"
    assert TaskChooser(model, fallback_task="jpeg", estimator=estimator).choose(image.codec, image.format_name, image.rgb) == "jpeg"


def test_auto_runs_exactly_the_task_it_chooses(model: UCIP, kodak_lr: np.ndarray) -> None:
    lr = torch.from_numpy(jpeg_then_png(kodak_lr, 20).copy()).permute(2, 0, 1)[None].float().div(255)
    both = torch.cat([lr, torch.from_numpy(kodak_lr.copy()).permute(2, 0, 1)[None].float().div(255)])
    assert model.resolve_auto(both, AUTO_TASK) == ["jpeg", "clean"]
    assert torch.equal(model.upscale(both, task=AUTO_TASK), model.upscale(both, task=["jpeg", "clean"]))
    assert model.resolve_auto(both, ["webp", AUTO_TASK]) == ["webp", "clean"]


def test_unknown_tasks_still_fail_with_the_choices(model: UCIP, kodak_lr: np.ndarray, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="Unknown task 'autoo'.*jpeg"):
        model.upscale(torch.rand(1, 3, 16, 16), task="autoo")
    picture = tmp_path / "in.png"
    Image.fromarray(kodak_lr).save(picture)
    assert cli_main(["upscale", str(picture), "-o", str(tmp_path / "out"), "--task", "autoo", "--quiet"]) == 2
    assert "Unknown task 'autoo'" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


def test_the_cli_says_per_file_what_auto_chose_and_why(kodak_lr: np.ndarray, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    Image.fromarray(jpeg_then_png(kodak_lr, 20)).save(tmp_path / "screenshot.png")
    Image.fromarray(kodak_lr).save(tmp_path / "drawing.png")
    assert cli_main(["upscale", str(tmp_path / "screenshot.png"), str(tmp_path / "drawing.png"), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "screenshot.png: jpeg (estimated jpeg (" in out and "drawing.png: clean (estimated clean (" in out, out
    assert Image.open(tmp_path / "out" / "screenshot.png").size == (512, 384)


def test_auto_needs_an_estimator_and_a_backbone_folder_without_one_says_so(tiny_backbone_folder: Path) -> None:
    tiny = UCIP.from_pretrained(tiny_backbone_folder)
    assert load_estimator_of(tiny) is None
    with pytest.raises(ValueError, match="needs a codec estimator"):
        TaskChooser(tiny, task=AUTO_TASK)
    with pytest.raises(FileNotFoundError, match="estimator"):
        tiny.upscale(torch.rand(1, 3, 16, 16), task=AUTO_TASK)


def test_the_estimator_loads_strictly_and_costs_under_five_percent_of_a_forward(model: UCIP, tmp_path: Path) -> None:
    estimator = load_estimator()
    picture = torch.rand(3, 256, 256)
    with torch.inference_mode(), FlopCounterMode(display=False) as counted:
        estimator.estimate(picture)
    with torch.inference_mode(), FlopCounterMode(display=False) as forward:
        model(picture[None], task=0)
    assert counted.get_total_flops() < 0.05 * forward.get_total_flops()
    estimator.save(tmp_path / "copy")
    assert load_estimator(tmp_path / "copy").config == estimator.config
    (tmp_path / "copy" / "model.safetensors").write_bytes(b"truncated")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_estimator(tmp_path / "copy")
    narrower = CodecEstimator(estimator.config.__class__(**{**estimator.config.__dict__, "width": 32}))
    narrower.save(tmp_path / "narrow")
    (tmp_path / "narrow" / "config.json").write_text((tmp_path / "copy" / "config.json").read_text())
    with pytest.raises(ValueError, match="do not fit its config.json"):
        load_estimator(tmp_path / "narrow")
