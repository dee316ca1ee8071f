"""A deterministic train / held-out (/ validation) split by image name.

Each name is hashed with a salt to a position in [0, 1); an image is held out when its position
falls under the held-out fraction, and is a validation image when it falls in the next
``validation_fraction`` of the range.
Membership depends only on the name, so it is the same for every codec and level of an image
(no image leaks from training into evaluation through another degradation), on every machine,
and stays put when images are added to or removed from the folder.
"""

from __future__ import annotations

import hashlib

import datasets

from ucip_adapt.data.sources import NAME_COLUMN


def name_position(name: str, salt: str = "ucip-adapt") -> float:
    """Where image `name` hashes to in [0, 1)."""
    digest = hashlib.sha256(f"{salt}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_heldout(name: str, heldout_fraction: float, salt: str = "ucip-adapt") -> bool:
    """Whether image `name` belongs to the held-out part."""
    return name_position(name, salt) < heldout_fraction


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


def split_validation(
    dataset: datasets.Dataset, heldout_fraction: float, validation_fraction: float, *, salt: str = "ucip-adapt"
) -> tuple[datasets.Dataset, datasets.Dataset, datasets.Dataset]:
    """(train, validation, held-out) parts: the held-out part is exactly :func:`split_heldout`'s, so
    reported numbers stay comparable with runs that had no validation part; the validation part
    (which chooses among training states) is taken from what would otherwise train."""
    if not 0.0 <= validation_fraction <= 1.0 - heldout_fraction:
        raise ValueError(f"validation_fraction must be in [0, {1.0 - heldout_fraction:g}] beside heldout_fraction "
                         f"{heldout_fraction:g}, got {validation_fraction}")
    rest, heldout = split_heldout(dataset, heldout_fraction, salt=salt)
    upper = heldout_fraction + validation_fraction
    validating = [name_position(name, salt) < upper for name in rest[NAME_COLUMN]]
    train_rows = [row for row, held in enumerate(validating) if not held]
    validation_rows = [row for row, held in enumerate(validating) if held]
    return rest.select(train_rows), rest.select(validation_rows), heldout
