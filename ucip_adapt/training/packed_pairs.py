"""Degraded pairs packed into one compact safetensors file, to train where the data pipeline is absent.

A GPU machine lent for minutes should spend them training, not degrading photos, and it may lack
the codec libraries and ``datasets``. `save_packed_pairs` writes pairs built on a CPU by the usual
pipeline into one file: every LR as lossless WebP, every HR once per photo, as its source file's
own bytes when they decode to exactly that HR (the training pool's photos are JPEGs, two to three
times smaller than any lossless re-encoding) and as lossless WebP otherwise. `load_packed_pairs`
decodes them with Pillow and numpy alone and checks every image against the SHA-256 of the pixels
that were packed, so a decoder that disagrees fails loudly instead of training on other data.
A size budget picks which photos go in (a seeded random order); each photo brings a few of its
degraded versions, spread over the tasks.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

from ..atomic import atomic_path
from ..image_io import read_image
from .pairs import ImagePair

FORMAT = "ucip-adapt packed pairs 1"


@dataclass(frozen=True)
class PackSummary:
    """What went into a pack: photos and pairs per split, and the file size."""

    train_photos: int
    train_pairs: int
    heldout_pairs: int
    photos_left_out: int
    bytes: int


def save_packed_pairs(
    path: str | Path,
    train: Sequence[ImagePair],
    heldout: Sequence[ImagePair],
    *,
    source: str,
    hr_files: Mapping[str, Path] | None = None,
    pairs_per_photo: int | None = None,
    max_bytes: int | None = None,
    seed: int = 0,
) -> PackSummary:
    """Write ``train`` and ``heldout`` pairs to ``path`` (atomically).

    ``hr_files`` maps a pair's ``name`` to its HR source file, used as is when it decodes to the
    pair's HR. ``pairs_per_photo`` keeps that many degraded versions of each training photo, drawn
    round-robin over the tasks; ``max_bytes`` stops adding training photos once the file would grow
    past it (every held-out pair is kept). ``source`` says where the photos came from (model cards).
    """
    tensors: dict[str, torch.Tensor] = {}
    photos: list[dict] = []
    records: list[dict] = []
    photo_index: dict[str, int] = {}
    size = 0

    def add_photo(pair: ImagePair) -> int:
        nonlocal size
        if pair.name not in photo_index:
            encoding, data = _encode_hr(pair.hr, (hr_files or {}).get(pair.name))
            photo_index[pair.name] = len(photos)
            photos.append({"name": pair.name, "encoding": encoding, "shape": list(pair.hr.shape), "sha256": _digest(pair.hr)})
            tensors[f"photo.{photo_index[pair.name]}"] = data
            size += data.numel()
        return photo_index[pair.name]

    def add_pair(pair: ImagePair, split: str) -> None:
        nonlocal size
        data = _bytes_tensor(_webp_lossless(pair.lr))
        tensors[f"lr.{len(records)}"] = data
        size += data.numel()
        records.append({"photo": add_photo(pair), "split": split, "task": pair.task, "codec": pair.codec, "level": pair.level,
                        "bpp": pair.bpp, "shape": list(pair.lr.shape), "sha256": _digest(pair.lr)})

    for pair in heldout:
        add_pair(pair, "heldout")
    by_photo: dict[str, list[ImagePair]] = {}
    for pair in train:
        by_photo.setdefault(pair.name, []).append(pair)
    order = sorted(by_photo)
    rng = random.Random(seed)
    rng.shuffle(order)
    kept = 0
    for name in order:
        chosen = _spread_over_tasks(by_photo[name], pairs_per_photo, rng)
        before = (dict(tensors), list(photos), list(records), dict(photo_index), size)
        for pair in chosen:
            add_pair(pair, "train")
        if max_bytes is not None and size > max_bytes:
            tensors, photos, records, photo_index, size = before
            break
        kept += 1
    metadata = {"format": FORMAT, "source": source, "photos": json.dumps(photos), "pairs": json.dumps(records)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return PackSummary(
        train_photos=kept,
        train_pairs=sum(r["split"] == "train" for r in records),
        heldout_pairs=sum(r["split"] == "heldout" for r in records),
        photos_left_out=len(order) - kept,
        bytes=Path(path).stat().st_size,
    )


def load_packed_pairs(path: str | Path) -> tuple[list[ImagePair], list[ImagePair], str]:
    """The training pairs, the held-out pairs and the ``source`` line of a pack written by `save_packed_pairs`."""
    with safe_open(str(path), framework="np") as handle:
        metadata = handle.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise ValueError(f"{path} is not a packed-pairs file ({FORMAT!r}); write one with pretrain_backbone.py --pack-pairs.")
        photos = json.loads(metadata["photos"])
        hrs = [_decode_checked(handle.get_tensor(f"photo.{i}"), photo["shape"], photo["sha256"], f"{path}: photo {photo['name']}")
               for i, photo in enumerate(photos)]
        splits: dict[str, list[ImagePair]] = {"train": [], "heldout": []}
        for j, record in enumerate(json.loads(metadata["pairs"])):
            name = photos[record["photo"]]["name"]
            lr = _decode_checked(handle.get_tensor(f"lr.{j}"), record["shape"], record["sha256"], f"{path}: LR {j} of {name}")
            splits[record["split"]].append(ImagePair(lr, hrs[record["photo"]], record["task"], name, record["codec"],
                                                        record["level"], record["bpp"]))
    return splits["train"], splits["heldout"], metadata["source"]


def _spread_over_tasks(pairs: list[ImagePair], count: int | None, rng: random.Random) -> list[ImagePair]:
    """``count`` of ``pairs`` (all when None), taken round-robin over the tasks from shuffled levels."""
    if count is None:
        return pairs
    by_task: dict[str, list[ImagePair]] = {}
    for pair in pairs:
        by_task.setdefault(pair.task, []).append(pair)
    for group in by_task.values():
        rng.shuffle(group)
    chosen: list[ImagePair] = []
    while len(chosen) < count and any(by_task.values()):
        for task in sorted(by_task):
            if by_task[task] and len(chosen) < count:
                chosen.append(by_task[task].pop())
    return chosen


def _encode_hr(hr: np.ndarray, source_file: Path | None) -> tuple[str, torch.Tensor]:
    """The smaller of the source file (when it decodes to exactly ``hr``) and lossless WebP."""
    webp = _webp_lossless(hr)
    if source_file is not None:
        data = Path(source_file).read_bytes()
        decoded = read_image(io.BytesIO(data), log_conversions=False)[: hr.shape[0], : hr.shape[1]]
        if len(data) < len(webp) and decoded.shape == hr.shape and np.array_equal(decoded, hr):
            return "source", _bytes_tensor(data)
    return "webp", _bytes_tensor(webp)


def _webp_lossless(image: np.ndarray) -> bytes:
    """Lossless WebP at method 2: on these photos as small as method 6 (within 5 %) at a sixtieth of the time."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="WEBP", lossless=True, quality=100, method=2)
    return buffer.getvalue()


def _bytes_tensor(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def _decode_checked(data: np.ndarray, shape: list[int], sha256: str, what: str) -> np.ndarray:
    image = read_image(io.BytesIO(data.tobytes()), log_conversions=False)[: shape[0], : shape[1]]
    image = np.ascontiguousarray(image)
    if list(image.shape) != shape or _digest(image) != sha256:
        raise ValueError(
            f"{what} decodes to other pixels than were packed (shape {list(image.shape)} vs {shape}): this Pillow's "
            "decoder differs from the packing machine's. Pack the pairs again with this machine's Pillow."
        )
    return image


def _digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()
