"""The cached degraded dataset: HR images -> (HR, LR, codec, level, task) pairs, computed once.

`degrade_dataset` runs the pipeline of `ucip_adapt.image_degradation` over an HR dataset with
`datasets.Dataset.map` (deterministic, no randomness, optionally multiprocess with `num_proc`)
and stores the result as an Arrow file in a cache folder. The file name is a fingerprint of
everything that decides the result: the HR dataset's own fingerprint (which changes when its
images change), the codec with its settings and library versions, the level, the task and the
pre-encoded bitstream location, and the pipeline version. Change any of them and the pairs are
recomputed; otherwise the next run loads them instantly.

Columns: ``name``, ``hr`` (a reference to the original HR image, uncropped: folder images stay
paths, so the cache does not copy them), ``lr`` (the decoded LR as PNG), ``codec``, ``level``
(text, as given), ``task``, ``bpp``, ``psnr_rgb``, ``psnr_y`` (decoded LR vs uncompressed LR, all
pixels) and ``lr_width``/``lr_height``. Images under 32 pixels on a side have no LR and are
skipped with a logged count.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import datasets
from datasets.fingerprint import Hasher
from PIL import Image

from ucip_adapt.codecs import Codec, Level, get_codec
from ucip_adapt.data.sources import IMAGE_COLUMN, NAME_COLUMN
from ucip_adapt.image_degradation import HR_MULTIPLE, SCALE, compress_lr, make_clean_pair, measure_compressed
from ucip_adapt.image_io import read_image

logger = logging.getLogger(__name__)

PIPELINE_VERSION = "1"  # bump when the pipeline's output changes for the same inputs

DEGRADED_FEATURES = datasets.Features(
    {
        "name": datasets.Value("string"),
        "hr": datasets.Image(),
        "lr": datasets.Image(),
        "codec": datasets.Value("string"),
        "level": datasets.Value("string"),
        "task": datasets.Value("string"),
        "bpp": datasets.Value("float64"),
        "psnr_rgb": datasets.Value("float64"),
        "psnr_y": datasets.Value("float64"),
        "lr_width": datasets.Value("int32"),
        "lr_height": datasets.Value("int32"),
    }
)


@dataclass(frozen=True)
class Degradation:
    """One codec at one level, and the task name its pairs train.

    Attributes:
        codec: a registered codec name.
        level: a value the codec's `encode` takes (one of `codec.levels` or any other).
        task: the task (prompt slot) name; default: the codec name.
        pre_encoded: read already encoded files instead of encoding: a path template with
            ``{level}``, ``{name}`` (the image's name), ``{stem}`` and ``{folder}`` (the name's
            last part and the folders before it). See `vvc_bitstream_template`.
    """

    codec: str
    level: Level
    task: str | None = None
    pre_encoded: str | None = None

    @property
    def task_name(self) -> str:
        return self.task or self.codec

    def encoded_path(self, name: str) -> Path:
        """Where `pre_encoded` puts the file of image `name`."""
        if self.pre_encoded is None:
            raise ValueError(f"{self} has no pre_encoded template")
        parts = PurePosixPath(name)
        folder = "" if str(parts.parent) == "." else str(parts.parent)
        return Path(self.pre_encoded.format(level=self.level, name=name, stem=parts.name, folder=folder))


def parse_degradations(specs: Iterable[str | Degradation]) -> list[Degradation]:
    """Expand specifications into `Degradation`s: ``"jpeg"`` is the codec's four standard levels,
    ``"jxl:8.5,6"`` the listed levels; `Degradation` objects pass through. Tasks: the codec names."""
    result: list[Degradation] = []
    for spec in specs:
        if isinstance(spec, Degradation):
            result.append(spec)
            continue
        name, _, levels = spec.partition(":")
        values = [_parse_level(text) for text in levels.split(",")] if levels else list(get_codec(name).levels)
        result.extend(Degradation(name, value) for value in values)
    return result


def require_encoders(degradations: Iterable[Degradation]) -> None:
    """Refuse, before any image is degraded, a degradation whose codec cannot encode here (VVC
    without vvenc and without pre-encoded files), with the codec's own explanation."""
    for degradation in degradations:
        if degradation.pre_encoded is None:
            get_codec(degradation.codec).check_encoder()


def bitstream_folder_template(bitstreams: str | Path) -> str:
    """`Degradation.pre_encoded` template of a folder of pre-encoded VVC bitstreams laid out as
    ``<bitstreams>/[<folder>/]qp<QP>/<stem>.266``, ``<folder>/<stem>`` being the HR image's name."""
    return str(Path(bitstreams)) + "/{folder}/qp{level}/{stem}.266"


def codec_degradations(codecs: Iterable[str], vvc_bitstreams: str | Path | None = None) -> list[Degradation]:
    """Every codec of ``codecs`` at its four standard levels; VVC read from the pre-encoded
    bitstreams in ``vvc_bitstreams`` (:func:`bitstream_folder_template`'s layout) when given."""
    degradations = []
    for codec in codecs:
        parsed = parse_degradations([codec])
        if codec == "vvc" and vvc_bitstreams is not None:
            parsed = [Degradation("vvc", d.level, pre_encoded=bitstream_folder_template(vvc_bitstreams)) for d in parsed]
        degradations += parsed
    return degradations


def vvc_bitstream_template(data_root: str | Path, subset: str) -> str:
    """`Degradation.pre_encoded` template of the bitstream layout of ``shared/data``:
    ``<data_root>/vvc/<subset>/[<folder>/]qp<QP>/<stem>.266`` for the HR images of
    ``<data_root>/<subset>`` (subset ``"eval/kodak24"``, or ``"train"`` for all its sets)."""
    return bitstream_folder_template(Path(data_root) / "vvc" / subset)


def degrade_dataset(
    hr_images: datasets.Dataset,
    degradation: Degradation,
    *,
    cache_dir: str | Path | None = None,
    num_proc: int | None = None,
    scale: int = SCALE,
) -> datasets.Dataset:
    """The cached (HR, LR, codec, level, task) pairs of `hr_images` (from `load_hr_images`).

    Args:
        hr_images: a dataset with ``image`` and ``name`` columns.
        degradation: the codec, level and task (and optionally pre-encoded files).
        cache_dir: folder of the cached Arrow files; default ``<datasets cache>/ucip_adapt``.
        num_proc: worker processes for `map` (the result does not depend on it).
        scale: the super-resolution factor (4).
    """
    codec = get_codec(degradation.codec)
    fingerprint = Hasher.hash(
        [
            PIPELINE_VERSION,
            hr_images._fingerprint,
            codec.cache_key(),
            str(degradation.level),
            degradation.task_name,
            degradation.pre_encoded,
            scale,
        ]
    )
    folder = Path(cache_dir) if cache_dir is not None else Path(datasets.config.HF_DATASETS_CACHE) / "ucip_adapt"
    folder.mkdir(parents=True, exist_ok=True)
    pairs = hr_images.map(
        _degrade_batch,
        batched=True,
        batch_size=8,
        fn_kwargs={"codec": codec, "degradation": degradation, "scale": scale},
        remove_columns=hr_images.column_names,
        features=DEGRADED_FEATURES,
        num_proc=num_proc,
        cache_file_name=str(folder / f"degraded-{degradation.codec}-{degradation.level}-{fingerprint}.arrow"),
        new_fingerprint=fingerprint,
        desc=f"degrading with {degradation.codec} {degradation.level}",
    )
    skipped = len(hr_images) - len(pairs)
    if skipped:
        logger.warning(
            "skipped %d of %d HR images smaller than %dx%d pixels (no LR image at x%d)",
            skipped, len(hr_images), HR_MULTIPLE, HR_MULTIPLE, scale,
        )  # fmt: skip
    return pairs


def _degrade_batch(batch: dict[str, list], codec: Codec, degradation: Degradation, scale: int) -> dict[str, list]:
    rows: dict[str, list] = {column: [] for column in DEGRADED_FEATURES}
    for image, name in zip(batch[IMAGE_COLUMN], batch[NAME_COLUMN]):
        rgb = read_image(image["bytes"] if image["bytes"] is not None else image["path"])
        if min(rgb.shape[:2]) < HR_MULTIPLE:
            continue
        _hr, clean_lr = make_clean_pair(rgb, scale)
        if degradation.pre_encoded is None:
            compressed = compress_lr(clean_lr, codec, degradation.level)
        else:
            path = degradation.encoded_path(name)
            if not path.is_file():
                raise FileNotFoundError(f"no pre-encoded {degradation.codec} file for image {name!r}: {path}")
            compressed = measure_compressed(clean_lr, path.read_bytes(), codec)
        png = io.BytesIO()
        Image.fromarray(compressed.lr).save(png, format="PNG", compress_level=1)
        for column, value in (
            ("name", name),
            ("hr", image),
            ("lr", {"bytes": png.getvalue(), "path": None}),
            ("codec", degradation.codec),
            ("level", str(degradation.level)),
            ("task", degradation.task_name),
            ("bpp", compressed.bpp),
            ("psnr_rgb", compressed.psnr_rgb),
            ("psnr_y", compressed.psnr_y),
            ("lr_width", clean_lr.shape[1]),
            ("lr_height", clean_lr.shape[0]),
        ):
            rows[column].append(value)
    return rows


def _parse_level(text: str) -> Level:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value
