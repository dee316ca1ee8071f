"""A deterministic train / held-out split by image name.

Each name is hashed with a salt; an image is held out when its hash falls under the fraction.
Membership depends only on the name, so it is the same for every codec and level of an image
(no image leaks from training into evaluation through another degradation), on every machine,
and stays put when images are added to or removed from the folder.
"""

from __future__ import annotations

import hashlib

import datasets

from ucip_adapt.data.sources import NAME_COLUMN


def is_heldout(name: str, heldout_fraction: float, salt: str = "ucip-adapt") -> bool:
    """Whether image `name` belongs to the held-out part."""
    digest = hashlib.sha256(f"{salt}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < heldout_fraction


def split_heldout(
    dataset: datasets.Dataset, heldout_fraction: float = 0.1, *, salt: str = "ucip-adapt"
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """(train, held-out) parts of any dataset with a ``name`` column (HR images or degraded pairs)."""
    if not 0.0 <= heldout_fraction <= 1.0:
        raise ValueError(f"heldout_fraction must be in [0, 1], got {heldout_fraction}")
    heldout = [is_heldout(name, heldout_fraction, salt) for name in dataset[NAME_COLUMN]]
    train_rows = [row for row, held in enumerate(heldout) if not held]
    heldout_rows = [row for row, held in enumerate(heldout) if held]
    return dataset.select(train_rows), dataset.select(heldout_rows)
