"""Upscaling real files: every supported container is recognised and mapped to its task, end to end.

The files are made from a real Kodak crop by the real encoders (no mocks); the VVC bitstream is
one of the shared data set's.
"""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import torch
from PIL import Image

from ucip_adapt import UCIP
from ucip_adapt.cli import main
from ucip_adapt.codecs import get_codec
from ucip_adapt.config import preset
from ucip_adapt.upscale import NoTaskError, TaskChooser, read_input

# file name -> (codec that detection must report, the task a model with avif/jxl/jpeg2000 packs picks)
CONTAINERS = {
    "jpeg.jpg": ("jpeg", "jpeg"),
    "webp.webp": ("webp", "webp"),
    "avif.avif": ("avif", "avif"),
    "heic.heic": ("heic", "hevc"),
    "jxl.jxl": ("jxl", "jxl"),
    "jxl_container.jxl": ("jxl", "jxl"),
    "codestream.j2k": ("jpeg2000", "jpeg2000"),
    "jp2.jp2": ("jpeg2000", "jpeg2000"),
    "hevc.265": ("hevc", "hevc"),
    "vvc.266": ("vvc", "vvc"),
}


@pytest.fixture(scope="module")
def crop(shared_data: Path) -> np.ndarray:
    """A 64x48 piece of kodim23, RGB uint8: the red parrot's head, whose saturated colours a wrong YUV matrix shifts."""
    return np.asarray(Image.open(shared_data / "eval/kodak24/kodim23.png").convert("RGB"))[112:160, 480:544].copy()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, crop: np.ndarray, shared_data: Path) -> Path:
    """A folder holding the crop in every container, a PNG, an H.264 bitstream and a VVC stream."""
    folder = tmp_path_factory.mktemp("containers")
    encoded = {
        "jpeg.jpg": get_codec("jpeg").encode(crop, 30),
        "webp.webp": get_codec("webp").encode(crop, 19),
        "avif.avif": get_codec("avif").encode(crop, 24),
        "heic.heic": get_codec("heic").encode(crop, 37),
        "jxl.jxl": get_codec("jxl").encode(crop, 6),
        "jxl_container.jxl": bytes(imagecodecs.jpegxl_encode(crop, distance=6, usecontainer=True)),
        "codestream.j2k": get_codec("jpeg2000").encode(crop, 60),
        "hevc.265": get_codec("hevc").encode(crop, 37),
        "h264.264": get_codec("h264").encode(crop, 38),
        "vvc.266": (shared_data / "vvc/eval/kodak24/qp37/kodim23.266").read_bytes(),
    }
    for name, data in encoded.items():
        (folder / name).write_bytes(data)
    Image.fromarray(crop).save(folder / "jp2.jp2", quality_mode="rates", quality_layers=[8])
    Image.fromarray(crop).save(folder / "lossless.png")
    return folder


@pytest.fixture(scope="module")
def backbone(tmp_path_factory: pytest.TempPathFactory) -> tuple[UCIP, Path, list[Path]]:
    """A random tiny backbone saved as a folder, and packs for avif, jxl and jpeg2000 saved beside it."""
    torch.manual_seed(0)
    model = UCIP(preset("ucip-tiny")).eval()
    root = tmp_path_factory.mktemp("model")
    model.save_pretrained(root / "backbone")
    packs = []
    for codec in ("avif", "jxl", "jpeg2000"):
        model.add_prompts(codec)
        packs.append(model.save_prompts(root / f"pack-{codec}", adapter_name=codec))
    return model, root / "backbone", packs


@pytest.mark.parametrize("name", sorted(CONTAINERS))
def test_every_container_is_recognised_and_mapped_to_its_task(name, files, backbone):
    codec, task = CONTAINERS[name]
    image = read_input(files / name)
    assert image.codec == codec
    assert image.rgb.dtype == np.uint8 and image.rgb.ndim == 3 and image.rgb.shape[2] == 3
    assert TaskChooser(backbone[0]).choose(image.codec, image.format_name) == task


def test_decoded_pixels_are_the_picture(files, crop):
    """Lossy, but the same picture in the same colours. Measured on this crop: mean |error| 3.1-5.9 and
    per-channel mean shift at most 1.5; decoding the same files with BT.709 in place of BT.601 or the
    other way round gives mean |error| 9.9-12.2 and shifts of 12.4-16.5 (HEVC through swscale with
    ITU709: 10.4), and HEVC read as full range 9.8."""
    for name in ("jpeg.jpg", "avif.avif", "heic.heic", "jxl.jxl", "jp2.jp2", "hevc.265"):
        error = read_input(files / name).rgb.astype(float) - crop
        assert error.shape == crop.shape
        assert np.abs(error).mean() < 7.5, name
        assert np.abs(error.reshape(-1, 3).mean(axis=0)).max() < 4, name


def test_files_no_codec_made_go_to_clean_and_a_codec_without_task_names_the_choices(files, backbone):
    chooser = TaskChooser(backbone[0])
    png = read_input(files / "lossless.png")
    assert png.codec is None and chooser.choose(png.codec, png.format_name) == "clean"
    assert TaskChooser(backbone[0], fallback_task="webp").choose(png.codec, png.format_name) == "webp"
    without_clean = TaskChooser(UCIP(preset("ucip-tiny", tasks=["jpeg", "hevc", "vvc", "webp"])))
    with pytest.raises(NoTaskError, match=r"PNG file .*--task .*one of: jpeg, hevc, vvc, webp$"):
        without_clean.choose(png.codec, png.format_name)
    h264 = read_input(files / "h264.264")
    assert h264.codec == "h264"
    with pytest.raises(NoTaskError, match="no task of this model is for h264"):
        chooser.choose(h264.codec, h264.format_name)
    assert TaskChooser(backbone[0], fallback_task="jpeg").choose(None, "PNG") == "jpeg"
    assert TaskChooser(backbone[0], fallback_task="jpeg").choose("avif", "AVIF") == "avif"
    assert TaskChooser(backbone[0], task="webp").choose("avif", "AVIF") == "webp"
    with pytest.raises(KeyError, match="Unknown task 'png'"):
        TaskChooser(backbone[0], task="png")


def test_packs_are_found_by_their_codec_not_their_name(backbone):
    model = UCIP(preset("ucip-tiny"))
    model.add_prompts("avif-v2", metadata={"codec": "avif"})
    model.add_prompts("heic-tuned", metadata={"codec": "heic"})
    chooser = TaskChooser(model)
    assert chooser.choose("avif", "AVIF") == "avif-v2"
    assert chooser.choose("heic", "HEIF") == "heic-tuned"  # its own pack beats the HEVC task
    model.add_prompts("avif-v3", metadata={"codec": "avif"})
    with pytest.raises(ValueError, match="'avif-v2' and 'avif-v3' are both for avif"):
        TaskChooser(model)


def test_folder_of_every_container_end_to_end(files, backbone, tmp_path, capsys):
    _model, backbone_dir, packs = backbone
    out = tmp_path / "out"
    args = [str(files), "-o", str(out), "--backbone", str(backbone_dir), "--prompts", *map(str, packs), "--quiet"]
    code = main(["upscale", *args])
    captured = capsys.readouterr()
    assert code == 1  # the H.264 stream has no task: reported, the rest is written
    assert "1 file(s) failed" in captured.err and "h264" in captured.err
    assert "tasks: avif 1, clean 1, hevc 2, jpeg 1, jpeg2000 2, jxl 2, vvc 1, webp 1" in captured.err  # the PNG: clean
    for name, (_codec, _task) in CONTAINERS.items():
        written = Image.open(out / (Path(name).stem + ".png"))
        source = read_input(files / name).rgb
        assert written.size == (4 * source.shape[1], 4 * source.shape[0]), name
    assert (out / "lossless.png").exists() and not (out / "h264.png").exists()
