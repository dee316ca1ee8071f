"""The default HR source that needs no download: natural colour photos shipped inside the
scikit-image wheel (its ``skimage/data`` folder), so the recipes run on a fresh machine."""

from __future__ import annotations

from pathlib import Path

import datasets

# Natural colour photographs in the wheel; the other files there are synthetic, greyscale,
# microscopy or medical images, or need a download (pooch).
EMBEDDED_PHOTO_FILES = (
    "astronaut.png",
    "coffee.png",
    "chelsea.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "hubble_deep_field.jpg",
)


def embedded_photos() -> datasets.Dataset:
    """The scikit-image photos as an HR dataset (``image`` bytes, ``name`` = file stem).

    The images are stored as their original file bytes, so the dataset's fingerprint follows their
    content and caches built on it stay valid across runs and machines.
    """
    from skimage.data import data_dir

    folder = Path(data_dir)
    missing = [name for name in EMBEDDED_PHOTO_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"scikit-image at {folder} lacks {', '.join(missing)}; "
            "reinstall it: pip install --force-reinstall scikit-image"
        )
    return datasets.Dataset.from_dict(
        {
            "image": [{"bytes": (folder / name).read_bytes(), "path": None} for name in EMBEDDED_PHOTO_FILES],
            "name": [Path(name).stem for name in EMBEDDED_PHOTO_FILES],
        },
        features=datasets.Features({"image": datasets.Image(decode=False), "name": datasets.Value("string")}),
    )
