"""Packed pairs on real photos: an exact round trip, JPEG photos kept as their own bytes, the
per-photo and size budgets, and the refusal of a pack whose pixels do not decode as packed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from ucip_adapt.codecs import get_codec
from ucip_adapt.image_degradation import degrade
from ucip_adapt.image_io import read_image
from ucip_adapt.training.packed_pairs import load_packed_pairs, save_packed_pairs
from ucip_adapt.training.pairs import ImagePair

LEVELS = {"jpeg": ("10", "40"), "webp": ("1", "26")}


@pytest.fixture(scope="module")
def photos(shared_dir) -> dict[str, Path]:
    """Two BSD100 JPEGs and one Kodak PNG, by name."""
    eval_dir = shared_dir / "data" / "eval"
    return {"bsd/3096": eval_dir / "bsd100" / "3096.jpg", "bsd/8023": eval_dir / "bsd100" / "8023.jpg",
            "kodak/kodim07": eval_dir / "kodak24" / "kodim07.png"}


@pytest.fixture(scope="module")
def pairs(photos) -> list[ImagePair]:
    """Every photo at two levels of two codecs (JPEG and WebP), as the data pipeline degrades them."""
    result = []
    for name, path in photos.items():
        rgb = read_image(path)
        for codec, levels in LEVELS.items():
            for level in levels:
                pair = degrade(rgb, get_codec(codec), level)
                result.append(ImagePair(pair.compressed.lr, pair.hr, codec, name, codec, level, pair.compressed.bpp))
    return result


def split(pairs: list[ImagePair], heldout_name: str = "kodak/kodim07") -> tuple[list[ImagePair], list[ImagePair]]:
    return [p for p in pairs if p.name != heldout_name], [p for p in pairs if p.name == heldout_name]


def test_round_trip_is_exact_and_keeps_jpeg_photos_as_their_own_bytes(pairs, photos, tmp_path):
    train, heldout = split(pairs)
    path = tmp_path / "pairs.safetensors"
    summary = save_packed_pairs(path, train, heldout, source="bsd100 and kodak24", hr_files=photos)
    assert (summary.train_photos, summary.train_pairs, summary.heldout_pairs, summary.photos_left_out) == (2, 8, 4, 0)
    loaded_train, loaded_heldout, source = load_packed_pairs(path)
    assert source == "bsd100 and kodak24"
    by_key = {(p.name, p.codec, p.level): p for p in pairs}
    assert len(loaded_train) == 8 and len(loaded_heldout) == 4
    for pair in loaded_train + loaded_heldout:
        original = by_key[(pair.name, pair.codec, pair.level)]
        assert np.array_equal(pair.lr, original.lr) and np.array_equal(pair.hr, original.hr)
        assert (pair.task, pair.bpp) == (original.task, original.bpp)
    assert {p.name for p in loaded_heldout} == {"kodak/kodim07"}
    with safe_open(str(path), framework="np") as handle:
        encodings = {photo["name"]: photo["encoding"] for photo in json.loads(handle.metadata()["photos"])}
        jpeg_photo = handle.get_tensor(f"photo.{list(encodings).index('bsd/3096')}")
    # The JPEG photos travel as their files (smaller than any lossless re-encoding); the PNG does not.
    assert encodings == {"kodak/kodim07": "webp", "bsd/3096": "source", "bsd/8023": "source"}
    assert jpeg_photo.tobytes() == photos["bsd/3096"].read_bytes()
    assert summary.bytes < sum(p.hr.nbytes for p in pairs[::4]) / 2


def test_pairs_per_photo_spreads_over_tasks_and_the_size_budget_leaves_photos_out(pairs, photos, tmp_path):
    train, heldout = split(pairs)
    save_packed_pairs(tmp_path / "a.safetensors", train, heldout, source="s", hr_files=photos, pairs_per_photo=2)
    one_per_task, _, _ = load_packed_pairs(tmp_path / "a.safetensors")
    assert sorted((p.name, p.task) for p in one_per_task) == [("bsd/3096", "jpeg"), ("bsd/3096", "webp"),
                                                              ("bsd/8023", "jpeg"), ("bsd/8023", "webp")]
    heldout_only = save_packed_pairs(tmp_path / "b.safetensors", train, heldout, source="s", hr_files=photos, max_bytes=1)
    assert (heldout_only.train_photos, heldout_only.photos_left_out, heldout_only.heldout_pairs) == (0, 2, 4)
    assert load_packed_pairs(tmp_path / "b.safetensors")[0] == []


def test_pixels_that_decode_otherwise_are_refused(pairs, photos, tmp_path):
    train, heldout = split(pairs)
    path = tmp_path / "pairs.safetensors"
    save_packed_pairs(path, train, heldout, source="s", hr_files=photos)
    with safe_open(str(path), framework="np") as handle:
        metadata = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    photos_meta = json.loads(metadata["photos"])
    photos_meta[1]["sha256"] = "0" * 64  # what another decoder's pixels would hash to
    save_file(tensors, str(path), metadata={**metadata, "photos": json.dumps(photos_meta)})
    with pytest.raises(ValueError, match=f"photo {photos_meta[1]['name']} decodes to other pixels than were packed"):
        load_packed_pairs(path)
    save_file(tensors, str(tmp_path / "other.safetensors"), metadata={"format": "something else"})
    with pytest.raises(ValueError, match="is not a packed-pairs file"):
        load_packed_pairs(tmp_path / "other.safetensors")
