"""Example inputs for the demo page, made on the spot from photos inside the scikit-image wheel:
each is bicubic-downscaled x4 and saved by a codec at its second-heaviest standard level, as a
picture arrives from the web, so the page has something to show with no upload and no download."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from skimage.data import data_dir

from ..atomic import atomic_path
from ..codecs import get_codec
from ..image_degradation import make_clean_pair
from ..image_io import read_image

EXAMPLES: tuple[tuple[str, str | None, str], ...] = (
    ("chelsea.png", "jpeg", ".jpg"),
    ("coffee.png", "webp", ".webp"),
    ("astronaut.png", "avif", ".avif"),
    ("motorcycle_left.png", None, ".png"),
)
"""(scikit-image photo, codec or None for a never-compressed PNG, file extension)."""


def make_examples(folder: Path) -> list[Path]:
    """Write the example files into ``folder`` (created if needed) and return their paths.

    Files already there are reused: they are a pure function of the wheel's photos and the codecs."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for photo, codec_name, extension in EXAMPLES:
        path = folder / f"{Path(photo).stem}-{codec_name or 'clean'}{extension}"
        if not path.is_file():
            _, lr = make_clean_pair(read_image(Path(data_dir) / photo, log_conversions=False))
            with atomic_path(path) as tmp:
                if codec_name is None:
                    Image.fromarray(lr).save(tmp, format="PNG")
                else:
                    codec = get_codec(codec_name)
                    tmp.write_bytes(codec.encode(lr, codec.levels[1]))
        paths.append(path)
    return paths
