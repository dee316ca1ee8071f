"""HR image sources as `datasets.Dataset`s with two columns: ``image`` (an undecoded `Image`
feature: a file path or encoded bytes, never pixels) and ``name`` (a stable identifier, e.g. the
path relative to the folder without its extension).

Keeping images undecoded lets the degradation `map` and the crop transform read them with the
package's one conversion policy (`ucip_adapt.image_io`), and keeps folder images as references
instead of copies in the cache.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Union

import datasets

from ucip_adapt.data.embedded import embedded_photos

IMAGE_COLUMN = "image"
NAME_COLUMN = "name"

HRSource = Union[None, str, Path, datasets.Dataset]


def load_hr_images(
    source: HRSource = None, *, split: str = "train", cache_dir: str | Path | None = None
) -> datasets.Dataset:
    """HR images from `source`:

    * None: the natural photos inside the scikit-image wheel (no download, see `embedded_photos`);
    * a folder: every image under it, recursively (`image_folder`);
    * a `datasets.Dataset`: its first `Image` column (`from_dataset`);
    * any other string: a Hub dataset id, loaded with `datasets.load_dataset(source, split=split)`.
    """
    if source is None:
        return embedded_photos()
    if isinstance(source, datasets.Dataset):
        return from_dataset(source)
    if Path(source).is_dir():
        return image_folder(source, cache_dir=cache_dir)
    if isinstance(source, Path) or Path(str(source)).suffix or str(source).startswith((".", "/", "~")):
        raise FileNotFoundError(f"HR image folder {source} does not exist")
    cache = None if cache_dir is None else str(cache_dir)
    return from_dataset(datasets.load_dataset(str(source), split=split, cache_dir=cache))


def image_folder(folder: str | Path, *, cache_dir: str | Path | None = None) -> datasets.Dataset:
    """All images under `folder` (``imagefolder`` with ``drop_labels=True``), named by their path
    relative to `folder` without extension (``bsds400/100075``). Adding, removing or modifying a
    file changes the dataset's fingerprint, so the degraded caches built on it are recomputed."""
    root = Path(folder).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"HR image folder {folder} does not exist")
    # data_files, not data_dir: with data_dir, datasets infers splits from file names, and a file
    # called e.g. "train_railway.jpg" would become the whole "train" split.
    images = datasets.load_dataset(
        "imagefolder",
        data_files={"train": str(root / "**")},
        drop_labels=True,
        split="train",
        cache_dir=None if cache_dir is None else str(cache_dir),
    )
    images = images.cast_column(IMAGE_COLUMN, datasets.Image(decode=False))
    return images.map(_name_from_path, fn_kwargs={"root": str(root)}, desc="naming HR images")


def from_dataset(dataset: datasets.Dataset) -> datasets.Dataset:
    """The first `Image` column of `dataset` as ``image`` plus a ``name`` column (kept if present,
    else the image's path without extension, else the row index)."""
    image_columns = [column for column, feature in dataset.features.items() if isinstance(feature, datasets.Image)]
    if not image_columns:
        raise ValueError(f"dataset has no Image column (columns: {', '.join(dataset.column_names)})")
    dataset = dataset.cast_column(image_columns[0], datasets.Image(decode=False))
    if image_columns[0] != IMAGE_COLUMN:
        if IMAGE_COLUMN in dataset.column_names:  # a non-image column that happens to be called "image"
            dataset = dataset.remove_columns(IMAGE_COLUMN)
        dataset = dataset.rename_column(image_columns[0], IMAGE_COLUMN)
    if NAME_COLUMN not in dataset.column_names:
        dataset = dataset.map(_name_from_path_or_index, with_indices=True, desc="naming HR images")
    return dataset.select_columns([IMAGE_COLUMN, NAME_COLUMN])


def image_name(path: str | Path, root: str | Path) -> str:
    """The ``name`` of a folder image: its path relative to ``root`` without extension (``bsds400/100075``)."""
    return str(PurePosixPath(Path(path).resolve().relative_to(Path(root).resolve()).with_suffix("").as_posix()))


def image_files(folder: str | Path) -> dict[str, Path]:
    """Every file under ``folder`` by the ``name`` its image gets in `image_folder`."""
    return {image_name(path, folder): path for path in sorted(Path(folder).rglob("*")) if path.is_file()}


def _name_from_path(example: dict, root: str) -> dict:
    return {NAME_COLUMN: image_name(example[IMAGE_COLUMN]["path"], root)}


def _name_from_path_or_index(example: dict, index: int) -> dict:
    path = example[IMAGE_COLUMN].get("path")
    return {NAME_COLUMN: PurePosixPath(path).stem if path else f"{index:06d}"}
