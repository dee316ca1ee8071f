"""``ucip-adapt upscale`` on real images: outputs and naming, no-overwrite, per-file errors, and the
odd inputs (grey, 16-bit, palette, alpha, EXIF orientation, ICC profile)."""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from PIL import Image, ImageCms

from ucip_adapt.cli import main
from ucip_adapt.upscale import load_model, plan_jobs, upscale_alpha

EXIF_ORIENTATION = 0x0112


@pytest.fixture(scope="module")
def backbone(tiny_backbone_folder: Path) -> Path:
    return tiny_backbone_folder


@pytest.fixture(scope="module")
def photo(shared_data: Path) -> Image.Image:
    """A 40x32 RGB piece of kodim03."""
    return Image.open(shared_data / "eval/kodak24/kodim03.png").convert("RGB").crop((300, 200, 340, 232))


def upscale(*args: object, backbone: Path) -> int:
    return main(["upscale", *map(str, args), "--backbone", str(backbone), "--quiet"])


def test_folder_tree_is_kept_and_stems_are_the_names(tmp_path, photo, backbone):
    (tmp_path / "in/trip/day1").mkdir(parents=True)
    photo.save(tmp_path / "in/a.jpg", quality=40)
    photo.save(tmp_path / "in/trip/day1/b.webp", quality=40)
    (tmp_path / "in/notes.txt").write_text("not an image")
    (tmp_path / "in/.hidden.jpg").write_bytes((tmp_path / "in/a.jpg").read_bytes())
    assert upscale(tmp_path / "in", "-o", tmp_path / "out", "--format", "webp", backbone=backbone) == 0
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == ["a.webp", "trip/day1/b.webp"]
    assert Image.open(tmp_path / "out/a.webp").size == (160, 128)


def test_single_file_output_path_picks_the_format(tmp_path, photo, backbone):
    photo.save(tmp_path / "a.jpg", quality=40)
    assert upscale(tmp_path / "a.jpg", "-o", tmp_path / "result.jpeg", backbone=backbone) == 0
    assert Image.open(tmp_path / "result.jpeg").format == "JPEG"
    assert upscale(tmp_path / "a.jpg", "-o", tmp_path / "folder", backbone=backbone) == 0
    assert Image.open(tmp_path / "folder/a.png").format == "PNG"


def test_planning_refuses_collisions_missing_inputs_and_unknown_formats(tmp_path, photo):
    photo.save(tmp_path / "a.jpg")
    photo.save(tmp_path / "a.webp")
    with pytest.raises(ValueError, match="would write the same output"):
        plan_jobs([tmp_path / "a.jpg", tmp_path / "a.webp"], tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        plan_jobs([tmp_path / "nope.jpg"], tmp_path / "out")
    with pytest.raises(ValueError, match=r"\.xyz is not an image format Pillow writes"):
        plan_jobs([tmp_path / "a.jpg"], tmp_path / "out.xyz")
    (tmp_path / "a.webp").unlink()
    outputs_inside_input = plan_jobs([tmp_path], tmp_path / "out")
    (tmp_path / "out").mkdir()
    photo.save(tmp_path / "out/a.png")
    assert plan_jobs([tmp_path], tmp_path / "out") == outputs_inside_input  # earlier outputs are not inputs


def test_existing_outputs_are_kept_and_overwrite_replaces_only_earlier_outputs(tmp_path, photo, backbone, capsys):
    photo.save(tmp_path / "a.jpg", quality=40)
    photo.save(tmp_path / "b.jpg", quality=40)
    (tmp_path / "out").mkdir()
    (tmp_path / "out/a.png").write_bytes(b"precious")
    assert upscale(tmp_path / "a.jpg", tmp_path / "b.jpg", "-o", tmp_path / "out", backbone=backbone) == 0
    assert (tmp_path / "out/a.png").read_bytes() == b"precious"
    assert Image.open(tmp_path / "out/b.png").size == (160, 128)
    assert "Skipped 1 file(s) whose output exists (pass --overwrite" in capsys.readouterr().out
    assert upscale(tmp_path / "a.jpg", "-o", tmp_path / "out", "--overwrite", backbone=backbone) == 2
    assert (tmp_path / "out/a.png").read_bytes() == b"precious"  # not written by ucip-adapt: never replaced
    assert "did not write, which --overwrite never replaces: " in capsys.readouterr().err
    earlier = (tmp_path / "out/b.png").stat().st_mtime_ns
    assert upscale(tmp_path / "b.jpg", "-o", tmp_path / "out", "--overwrite", "--quality", "90", backbone=backbone) == 0
    assert (tmp_path / "out/b.png").stat().st_mtime_ns != earlier  # an earlier output is replaced


def test_bad_files_are_reported_at_the_end_and_the_rest_is_written(tmp_path, photo, backbone, capsys):
    photo.save(tmp_path / "good.jpg", quality=40)
    data = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (tmp_path / "text.png").write_text("not a picture")
    photo.save(tmp_path / "plain.png")
    code = upscale(tmp_path / "truncated.jpg", tmp_path / "text.png", tmp_path / "plain.png", tmp_path / "good.jpg", "-o", tmp_path / "out", backbone=backbone)
    err = capsys.readouterr().err
    assert code == 1
    assert "Upscaled 2 file(s) (tasks: clean 1, jpeg 1)" in err and "2 file(s) failed" in err
    assert "truncated.jpg: " in err and "text.png: " in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png", "plain.png"]  # no half-written files


def test_tiled_run_from_the_command_line(tmp_path, photo, backbone):
    photo.save(tmp_path / "a.jpg", quality=40)
    assert upscale(tmp_path / "a.jpg", "-o", tmp_path / "whole.png", backbone=backbone) == 0
    assert upscale(tmp_path / "a.jpg", "-o", tmp_path / "tiled.png", "--tile-pixels", 200, "--threads", 1, backbone=backbone) == 0
    whole, tiled = (np.asarray(Image.open(tmp_path / f"{n}.png"), dtype=np.float64) for n in ("whole", "tiled"))
    assert ((whole - tiled) ** 2).mean() < 255**2 * 1e-6  # > 60 dB


def test_grey_stays_grey(tmp_path, shared_data, backbone):
    bridge = Image.open(shared_data / "eval/set14/bridge.png").crop((0, 0, 40, 32))  # the data set's grey image
    assert bridge.mode == "L"
    bridge.save(tmp_path / "bridge.jpg", quality=40)
    assert upscale(tmp_path / "bridge.jpg", "-o", tmp_path / "out", backbone=backbone) == 0
    out = Image.open(tmp_path / "out/bridge.png")
    assert out.mode == "L" and out.size == (160, 128)


def test_alpha_is_carried_through_and_upscaled_separately(tmp_path, photo, backbone):
    alpha = np.tile(np.linspace(0, 255, 40).astype(np.uint8), (32, 1))
    rgba = photo.copy()
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(tmp_path / "logo.webp", quality=40)
    assert upscale(tmp_path / "logo.webp", "-o", tmp_path / "out", backbone=backbone) == 0
    out = Image.open(tmp_path / "out/logo.png")
    assert out.mode == "RGBA" and out.size == (160, 128)
    decoded_alpha = np.asarray(Image.open(tmp_path / "logo.webp").getchannel("A"))
    assert np.array_equal(np.asarray(out.getchannel("A")), upscale_alpha(decoded_alpha, 4))
    assert upscale(tmp_path / "logo.webp", "-o", tmp_path / "flat.jpg", backbone=backbone) == 0  # JPEG: alpha dropped
    assert Image.open(tmp_path / "flat.jpg").mode == "RGB"


def test_sixteen_bit_and_palette_inputs_are_converted(tmp_path, photo, backbone, caplog):
    rgb16 = np.asarray(photo).astype(np.uint16) * 257
    (tmp_path / "deep.png").write_bytes(imagecodecs.png_encode(rgb16))
    Image.fromarray(rgb16[:, :, 1]).save(tmp_path / "grey16.png")
    photo.convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "palette.png")
    assert Image.open(tmp_path / "grey16.png").mode.startswith("I;16")
    code = upscale(tmp_path / "deep.png", tmp_path / "grey16.png", tmp_path / "palette.png", "-o", tmp_path / "out", "--task", "jpeg", backbone=backbone)
    assert code == 0
    assert Image.open(tmp_path / "out/deep.png").mode == "RGB"
    assert Image.open(tmp_path / "out/grey16.png").mode == "L"
    assert Image.open(tmp_path / "out/palette.png").mode == "RGB"
    warnings = caplog.text
    assert "16-bit" in warnings and "palette" in warnings


def test_exif_orientation_is_applied_and_icc_profile_kept(tmp_path, photo, backbone):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # stored sideways: viewers rotate it 90 degrees clockwise
    exif[0x010F] = "Kodak"  # Make
    photo.save(tmp_path / "sideways.jpg", quality=40, exif=exif.tobytes(), icc_profile=icc)
    assert upscale(tmp_path / "sideways.jpg", "-o", tmp_path / "out", backbone=backbone) == 0
    out = Image.open(tmp_path / "out/sideways.png")
    assert out.size == (128, 160)  # 32x40 upright, x4
    assert out.info.get("icc_profile") == icc
    assert EXIF_ORIENTATION not in out.getexif() and out.getexif()[0x010F] == "Kodak"


def test_unreachable_backbone_gives_a_clear_error(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"Cannot load the backbone .*save_pretrained"):
        load_model(str(tmp_path / "missing-folder"))
    (tmp_path / "a.png").write_bytes(b"")
    assert main(["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--backbone", str(tmp_path / "no-model")]) == 2
    assert "Cannot load the backbone" in capsys.readouterr().err
