"""Training batches of several crop sizes: steps take turns between the sizes, a step of a large size
draws only from the photos large enough for it, and a size no photo can give is refused up front."""

from __future__ import annotations

import numpy as np
import pytest

from ucip_adapt.image_io import read_image
from ucip_adapt.training.batches import PatchBatches
from ucip_adapt.training.pairs import ImagePair


def photo_pair(shared_data, name: str, lr_size: int, task: str) -> ImagePair:
    """A square LR of ``lr_size`` pixels cut from a Kodak photo (4x4 box-averaged), with its HR."""
    hr = read_image(shared_data / "eval" / "kodak24" / name)[: 4 * lr_size, : 4 * lr_size]
    lr = hr.reshape(lr_size, 4, lr_size, 4, 3).mean(axis=(1, 3)).round().astype(np.uint8)
    return ImagePair(lr, np.ascontiguousarray(hr), task, name)


@pytest.fixture(scope="module")
def small_and_large(shared_data) -> list[ImagePair]:
    return [photo_pair(shared_data, "kodim01.png", 32, "small"), photo_pair(shared_data, "kodim02.png", 48, "large")]


def test_steps_take_turns_and_large_crops_come_only_from_large_photos(small_and_large):
    batches = PatchBatches(small_and_large, batch_size=4, patch_sizes=[24, 40], seed=3)
    tasks_of_small_steps = set()
    for step in range(12):
        batch = batches.micro_batch(step, 0, 0, 1, 1)
        size = 24 if step % 2 == 0 else 40
        assert batch.lr.shape == (4, 3, size, size) and batch.hr.shape == (4, 3, 4 * size, 4 * size)
        if size == 40:
            assert batch.tasks == ["large"] * 4
        else:
            tasks_of_small_steps.update(batch.tasks)
    assert tasks_of_small_steps == {"small", "large"}  # the small size still draws from every photo


def test_each_process_gets_its_slice_of_the_same_mixed_batch(small_and_large):
    batches = PatchBatches(small_and_large, batch_size=4, patch_sizes=[24, 40], seed=3)
    for step in (0, 1):
        whole = batches.micro_batch(step, 0, 0, 1, 1)
        halves = [batches.micro_batch(step, 0, rank, 1, 2) for rank in (0, 1)]
        assert np.array_equal(np.concatenate([h.lr.numpy() for h in halves]), whole.lr.numpy())
        assert np.array_equal(np.concatenate([h.hr.numpy() for h in halves]), whole.hr.numpy())


def test_a_size_no_photo_can_give_is_refused(small_and_large):
    with pytest.raises(ValueError, match=r"at least 64x64 pixels: drop 64 from --patch-size"):
        PatchBatches(small_and_large, batch_size=2, patch_sizes=[24, 64], seed=0)


def test_every_task_trains_equally_often_whatever_its_number_of_pairs(shared_data):
    """Draws pick the task first: one clean pair against four pairs of a codec still gives half the samples."""
    pairs = [photo_pair(shared_data, "kodim01.png", 32, "jpeg") for _ in range(4)] + [photo_pair(shared_data, "kodim02.png", 32, "clean")]
    batches = PatchBatches(pairs, batch_size=8, patch_sizes=[24], seed=0)
    tasks = [task for step in range(50) for task in batches.micro_batch(step, 0, 0, 1, 1).tasks]
    assert 0.4 < tasks.count("clean") / len(tasks) < 0.6


def test_held_out_pairs_are_spread_over_every_degradation():
    from ucip_adapt.training.pairs import spread_over_degradations

    image = np.zeros((8, 8, 3), np.uint8)
    ordered = [ImagePair(image, image, codec, f"{i}", codec, level) for codec, level in [("jpeg", "10"), ("jpeg", "40"), ("clean", "lossless")]
               for i in range(10)]
    chosen = spread_over_degradations(ordered, 7)
    assert [(p.codec, p.level) for p in chosen[:3]] == [("jpeg", "10"), ("jpeg", "40"), ("clean", "lossless")]
    assert len(chosen) == 7 and len({(p.codec, p.level) for p in chosen}) == 3
    assert spread_over_degradations(ordered, 100) == [p for i in range(10) for p in ordered[i::10]]
