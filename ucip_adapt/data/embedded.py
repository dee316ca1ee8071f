"""The default HR source that needs no download: the photographs shipped inside the scikit-image
wheel (its ``skimage/data`` folder), so the recipes run on a fresh machine."""

from __future__ import annotations

import io
from pathlib import Path

import datasets
from PIL import Image

# The photographs in the wheel: colour ones, then greyscale ones (textures, a camera, coins, the
# moon, a clock), which read as RGB with equal channels and still carry a codec's luma artifacts.
# Left out: synthetic, microscopy and medical images, pictures of text, those that need a download
# (pooch), and motorcycle_right.png, the other view of a stereo pair that is nearly the same picture
# as motorcycle_left.png (the split by name would put the two views on both sides of the held-out line).
EMBEDDED_PHOTO_FILES = (
    "astronaut.png",
    "coffee.png",
    "chelsea.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "hubble_deep_field.jpg",
    "brick.png",
    "camera.png",
    "clock_motion.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "moon.png",
)


def embedded_photos() -> datasets.Dataset:
    """The scikit-image photos as an HR dataset (``image`` bytes, ``name`` = file stem).

    Colour photos are stored as their original file bytes, so the dataset's fingerprint follows their
    content and caches built on it stay valid across runs and machines; greyscale ones as RGB PNG bytes
    (lossless, the grey copied to R, G and B), so that reading them needs no conversion note.
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
            "image": [{"bytes": _rgb_file_bytes(folder / name), "path": None} for name in EMBEDDED_PHOTO_FILES],
            "name": [Path(name).stem for name in EMBEDDED_PHOTO_FILES],
        },
        features=datasets.Features({"image": datasets.Image(decode=False), "name": datasets.Value("string")}),
    )


def _rgb_file_bytes(path: Path) -> bytes:
    """The file's bytes when it is RGB, else the picture as an RGB PNG."""
    with Image.open(path) as image:
        if image.mode == "RGB":
            return path.read_bytes()
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG")
        return buffer.getvalue()
