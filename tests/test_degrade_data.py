"""The degradation pipeline, image reading policy and the `datasets` data pipeline, on real images."""

import hashlib
import io
import json
import logging
import shutil

import datasets
import imagecodecs
import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from ucip_adapt.codecs import CodecUnavailableError, get_codec
from ucip_adapt.data import (
    EMBEDDED_PHOTO_FILES,
    CropParams,
    Degradation,
    aligned_crop_params,
    apply_crop,
    degraded_pairs,
    degrade_dataset,
    dihedral,
    from_dataset,
    image_folder,
    load_hr_images,
    parse_degradations,
    split_heldout,
    split_validation,
    vvc_pairs,
)
from ucip_adapt.image_degradation import degrade, make_clean_pair, measure_compressed, mod_crop, pad_to_multiple
from ucip_adapt.image_io import UnsupportedImageError, read_image, read_image_with_alpha
from ucip_adapt.training.pairs import materialize_pairs


@pytest.fixture(scope="module")
def manifest(shared_data) -> dict:
    return json.loads((shared_data / "manifest.json").read_text())


@pytest.fixture
def small_hr_folder(shared_data, tmp_path):
    """Three real BSDS images (481x321) copied to a temporary folder."""
    folder = tmp_path / "hr"
    folder.mkdir()
    for stem in ("100075", "100080", "100098"):
        shutil.copy(shared_data / f"train/bsds400/{stem}.jpg", folder / f"{stem}.jpg")
    return folder


# --- the pipeline of one image -------------------------------------------------------------------


def test_recomputed_lr_matches_the_manifest_sha256(shared_data, manifest):
    images = ["eval/kodak24/kodim05.png", "eval/bsd100/3096.jpg", "eval/set14/bridge.png", "train/wiki29/001_tl.png"]
    expected = {f["image"]: f["lr_rgb_sha256"] for f in manifest["files"] if f["kind"] == "vvc"}
    for image in images:
        _hr, lr = make_clean_pair(read_image(shared_data / image))
        assert hashlib.sha256(lr.tobytes()).hexdigest() == expected[image], image


def test_decoding_shipped_vvc_gives_the_manifest_psnr_and_bpp(shared_data, manifest):
    images = ("eval/set5/bird.png", "train/sunhays80/abbey_sun_asztnlqhlrvirneh.jpg")
    entries = [f for f in manifest["files"] if f["kind"] == "vvc" and f["image"] in images]
    assert len(entries) == 8
    vvc = get_codec("vvc")
    for entry in entries:
        _hr, lr = make_clean_pair(read_image(shared_data / entry["image"]))
        measured = measure_compressed(lr, (shared_data / entry["path"]).read_bytes(), vvc)
        assert round(measured.psnr_rgb, 4) == entry["psnr_rgb"], entry["path"]
        assert round(measured.bpp, 5) == entry["bpp"], entry["path"]


def test_pipeline_crops_pads_and_crops_back_on_an_odd_sized_photo():
    chelsea = skimage.data.chelsea()  # 451x300
    pair = degrade(chelsea, get_codec("jpeg"), 30)
    assert pair.hr.shape == (288, 448, 3) and pair.clean_lr.shape == (72, 112, 3)
    assert pair.compressed.lr.shape == (72, 112, 3)  # padded to 80 rows for the 16x16 blocks, cropped back
    assert pair.compressed.bpp == pytest.approx(8 * pair.compressed.num_bytes / (72 * 112))
    assert 25 < pair.compressed.psnr_y < 40
    padded = pad_to_multiple(pair.clean_lr, 16)
    assert padded.shape == (80, 112, 3) and np.array_equal(padded[72:], np.repeat(pair.clean_lr[-1:], 8, axis=0))
    with pytest.raises(ValueError, match="smaller than 32x32"):
        mod_crop(chelsea[:20])


# --- reading images: the grey / palette / alpha / 16-bit policy ------------------------------------


def test_greyscale_is_copied_to_rgb_with_a_note(shared_data, caplog):
    with caplog.at_level(logging.WARNING, logger="ucip_adapt.image_io"):
        rgb = read_image(shared_data / "eval/set14/bridge.png")
    assert rgb.dtype == np.uint8 and rgb.ndim == 3
    assert np.array_equal(rgb[..., 0], rgb[..., 2]) and "greyscale (L) copied to R, G and B" in caplog.text


def test_palette_alpha_and_16_bit_are_converted_with_notes(tmp_path, caplog):
    photo = skimage.data.coffee()[:64, :96]
    palette = tmp_path / "palette.png"
    Image.fromarray(photo).quantize(64).save(palette)
    rgba = tmp_path / "rgba.png"
    alpha = np.linspace(0, 255, 96, dtype=np.uint8)[None, :].repeat(64, axis=0)
    Image.fromarray(np.dstack([photo, alpha])).save(rgba)
    grey16, rgb16 = tmp_path / "grey16.png", tmp_path / "rgb16.png"
    grey = photo[..., 1]
    grey16.write_bytes(imagecodecs.png_encode(grey.astype(np.uint16) * 257))
    rgb16.write_bytes(imagecodecs.png_encode(photo.astype(np.uint16) * 257))

    with caplog.at_level(logging.WARNING, logger="ucip_adapt.image_io"):
        assert read_image(palette).shape == (64, 96, 3)
        colour, kept_alpha = read_image_with_alpha(rgba)
        assert np.array_equal(colour, photo) and np.array_equal(kept_alpha, alpha)
        assert np.array_equal(read_image(rgba), photo)
        assert np.array_equal(read_image(grey16), np.dstack([grey] * 3))
        assert np.array_equal(read_image(rgb16), photo)
    for note in ("palette image (P) expanded to RGB", "alpha channel of RGBA returned separately",
                 "alpha channel of RGBA dropped", "16-bit greyscale (I;16) scaled to 8 bits", "16-bit RGB reduced"):
        assert note in caplog.text
    assert read_image_with_alpha(Image.fromarray(photo))[1] is None


def test_float_images_are_refused():
    with pytest.raises(UnsupportedImageError, match="floating-point image"):
        read_image(Image.fromarray(skimage.data.coffee()[..., 0].astype(np.float32)))


# --- datasets: sources, cached degradations, crops, splits ----------------------------------------


def test_embedded_photos_need_no_download(caplog):
    photos = load_hr_images()
    assert photos["name"] == [name.rsplit(".", 1)[0] for name in EMBEDDED_PHOTO_FILES]
    with caplog.at_level("WARNING"):
        pictures = [read_image(image["bytes"]) for image in photos["image"]]
    assert not caplog.records  # greyscale photos come as RGB: no conversion note per photo and degradation
    assert all(min(picture.shape[:2]) >= 300 for picture in pictures)
    grey = pictures[photos["name"].index("camera")]
    assert np.array_equal(grey[..., 0], grey[..., 2]) and np.array_equal(grey[..., 0], np.asarray(skimage.data.camera()))


def test_degraded_dataset_is_cached_keyed_and_recomputed_on_change(small_hr_folder, tmp_path):
    cache = tmp_path / "cache"
    hr = image_folder(small_hr_folder, cache_dir=cache)
    assert hr["name"] == ["100075", "100080", "100098"]
    first = degrade_dataset(hr, Degradation("jpeg", 20), cache_dir=cache)
    assert first.column_names == [
        "name", "hr", "lr", "codec", "level", "task", "bpp", "psnr_rgb", "psnr_y", "lr_width", "lr_height"
    ]  # fmt: skip
    row = first[0]
    assert (row["codec"], row["level"], row["task"]) == ("jpeg", "20", "jpeg")
    assert row["lr"].size == (120, 80) and row["hr"].size == (481, 321)  # HR: the original, uncropped
    again = degrade_dataset(hr, Degradation("jpeg", 20), cache_dir=cache)
    assert again.cache_files == first.cache_files  # loaded, not recomputed
    assert degrade_dataset(hr, Degradation("jpeg", 30), cache_dir=cache).cache_files != first.cache_files
    assert degrade_dataset(hr, Degradation("jpeg", 20, task="other"), cache_dir=cache).cache_files != first.cache_files

    shutil.copy(small_hr_folder / "100080.jpg", small_hr_folder / "100075.jpg")  # new content, same name
    changed = degrade_dataset(image_folder(small_hr_folder, cache_dir=cache), Degradation("jpeg", 20), cache_dir=cache)
    assert changed.cache_files != first.cache_files
    assert changed[0]["bpp"] == changed[1]["bpp"] != first[0]["bpp"]


def test_multiprocess_map_gives_the_same_pairs(tmp_path):
    photos = load_hr_images().select(range(4))
    one = degrade_dataset(photos, Degradation("hevc", 42), cache_dir=tmp_path / "one")
    two = degrade_dataset(photos, Degradation("hevc", 42), cache_dir=tmp_path / "two", num_proc=2)
    assert one["name"] == two["name"] and one["bpp"] == two["bpp"]
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(one["lr"], two["lr"]))


def test_vvc_pairs_come_from_the_shipped_bitstreams(shared_data, manifest, tmp_path):
    pairs = vvc_pairs(shared_data, "eval/set5", qps=[47, 32], cache_dir=tmp_path)
    expected = {(f["image"], str(f["qp"])): f["psnr_rgb"] for f in manifest["files"] if f["kind"] == "vvc"}
    assert len(pairs) == 10 and set(pairs["task"]) == {"vvc"}
    for name, level, psnr in zip(pairs["name"], pairs["level"], pairs["psnr_rgb"]):
        assert round(psnr, 4) == expected[(f"eval/set5/{name}.png", level)]


def test_vvc_without_encoder_or_bitstreams_fails_clearly(tmp_path):
    if shutil.which("vvencFFapp") or shutil.which("vvencapp"):
        pytest.skip("a vvenc encoder is installed")
    with pytest.raises(CodecUnavailableError, match="pre-encoded"):
        degrade_dataset(load_hr_images().select([0]), Degradation("vvc", 37), cache_dir=tmp_path)


def test_crops_are_aligned_and_transformed_together(shared_data):
    rgb = read_image(shared_data / "eval/kodak24/kodim05.png")
    hr, lr = make_clean_pair(rgb)
    params = aligned_crop_params(lr.shape, 48, torch.Generator().manual_seed(0))
    lr_crop, hr_crop = apply_crop(lr, rgb, CropParams(params.top, params.left, params.size, 0))
    downscaled = np.asarray(Image.fromarray(hr_crop).resize((48, 48), Image.BICUBIC))
    assert np.array_equal(downscaled[2:-2, 2:-2], lr_crop[2:-2, 2:-2])  # bit-exact away from the crop edges

    variants = [dihedral(lr[:40, :40], index) for index in range(8)]
    assert np.array_equal(variants[0], lr[:40, :40])
    assert len({variant.tobytes() for variant in variants}) == 8
    for seed in range(4):  # the transform is applied to both crops alike
        params = aligned_crop_params(lr.shape, 48, torch.Generator().manual_seed(seed))
        lr_plain, hr_plain = apply_crop(lr, rgb, CropParams(params.top, params.left, params.size, 0))
        lr_augmented, hr_augmented = apply_crop(lr, rgb, params)
        matches = [k for k in range(8) if np.array_equal(dihedral(lr_plain, k), lr_augmented)]
        assert len(matches) == 1 and np.array_equal(dihedral(hr_plain, matches[0]), hr_augmented)


def test_images_smaller_than_the_crop_are_skipped_with_a_count(tmp_path, caplog):
    photos = load_hr_images().select(range(2))
    small = Image.fromarray(skimage.data.coffee()[:200, :200])  # LR 48x48 < 64x64
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    tiny = datasets.Dataset.from_dict(
        {"image": [{"bytes": buffer.getvalue(), "path": None}], "name": ["coffee-200"]},
        features=photos.features,
    )
    mixed = datasets.concatenate_datasets([photos, tiny])
    with caplog.at_level(logging.WARNING, logger="ucip_adapt.training.pairs"):
        pairs = materialize_pairs(degraded_pairs(mixed, ["jpeg:40"], cache_dir=tmp_path), min_lr_size=64)
    assert len(pairs) == 2 and "skipped 1 of 3 pairs whose LR is under 64 pixels on a side" in caplog.text
    with pytest.raises(ValueError, match="smaller than the 64x64 crop"):
        aligned_crop_params((50, 50, 3), 64, torch.Generator())


def test_any_dataset_with_an_image_column_is_a_source():
    photos = load_hr_images().select(range(2))
    other = photos.rename_column("image", "picture").remove_columns("name")
    normalised = from_dataset(other)
    assert normalised.column_names == ["image", "name"] and normalised["name"] == ["000000", "000001"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_hr_images("./no/such/folder")


def test_parse_degradations_expands_codecs_to_their_levels():
    parsed = parse_degradations(["jpeg", "jxl:8.5,6", Degradation("hevc", 37, task="hevc-x265")])
    assert [(d.codec, d.level, d.task_name) for d in parsed] == [
        ("jpeg", 10, "jpeg"), ("jpeg", 20, "jpeg"), ("jpeg", 30, "jpeg"), ("jpeg", 40, "jpeg"),
        ("jxl", 8.5, "jxl"), ("jxl", 6, "jxl"), ("hevc", 37, "hevc-x265"),
    ]  # fmt: skip


def test_heldout_split_is_deterministic_disjoint_and_follows_names(shared_data, tmp_path):
    hr = image_folder(shared_data / "eval/bsd100", cache_dir=tmp_path)
    train, heldout = split_heldout(hr, 0.2)
    again_train, again_heldout = split_heldout(hr, 0.2)
    assert train["name"] == again_train["name"] and heldout["name"] == again_heldout["name"]
    assert set(train["name"]).isdisjoint(heldout["name"]) and len(train) + len(heldout) == 100
    assert 10 <= len(heldout) <= 30
    _, heldout_of_half = split_heldout(hr.select(range(50)), 0.2)  # fewer images: membership unchanged
    assert set(heldout_of_half["name"]) == set(heldout["name"]) & set(hr["name"][:50])
    train3, validation, heldout3 = split_validation(hr, 0.2, 0.15)
    assert heldout3["name"] == heldout["name"]  # adding a validation part leaves the held-out part as it was
    assert set(train3["name"]) | set(validation["name"]) == set(train["name"]) and set(train3["name"]).isdisjoint(validation["name"])
    assert 5 <= len(validation) <= 25
    with pytest.raises(ValueError, match="validation_fraction must be in"):
        split_validation(hr, 0.2, 0.9)


def test_image_folder_takes_every_image_whatever_its_name(shared_data):
    """File names such as ``train_railway_sun_....jpg`` must not be read as split names."""
    images = load_hr_images(shared_data / "train")
    assert len(images) == 400 + 80 + 58
    assert "sunhays80/train_railway_sun_bclmrnpzdajlfgmc" in set(images["name"])
