"""Benchmark every codec at its four levels on real LR images.

For each codec and level, on Kodak24 and BSD100 of ``shared/data``: mean bpp, mean PSNR-Y of the
decoded LR against the uncompressed LR (BT.601 Y, all pixels; RGB PSNR beside it), and mean encode and decode
milliseconds per LR image (single process; the first image is coded once untimed as a warm-up).
VVC has no encoder on PyPI: its rows decode the shipped vvenc bitstreams (encode time n/a) unless
vvencFFapp/vvencapp is on PATH and ``--encode-vvc`` is given.

    python benchmarks/codecs.py                       # all codecs, kodak24 + bsd100, markdown to stdout
    python benchmarks/codecs.py --codecs jpeg hevc --sets eval/kodak24 --limit 5
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ucip_adapt.codecs import Codec, get_codec, list_codecs
from ucip_adapt.codecs.base import package_version
from ucip_adapt.data import Degradation, vvc_bitstream_template
from ucip_adapt.image_degradation import make_clean_pair, measure_decoded, pad_to_multiple
from ucip_adapt.image_io import read_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
ORDERED_CODECS = ("jpeg", "hevc", "vvc")  # their rows must go heavy -> light in bits and PSNR


@dataclass
class Row:
    codec: str
    level: str
    bpp: float
    psnr_y: float
    psnr_rgb: float
    encode_ms: float | None
    decode_ms: float


def default_data_root() -> Path:
    return Path(os.environ.get("UCIP_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def load_clean_lrs(folder: Path, limit: int | None) -> list[tuple[str, np.ndarray]]:
    files = sorted(path for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    return [(path.stem, make_clean_pair(read_image(path, log_conversions=False))[1]) for path in files]


def benchmark(codec: Codec, level, images, pre_encoded: Degradation | None) -> Row:
    bpps, psnrs_y, psnrs_rgb, encode_ms, decode_ms = [], [], [], [], []
    if pre_encoded is None:  # warm-up: library loading and encoder set-up are not per-image costs
        codec.decode(codec.encode(pad_to_multiple(images[0][1], codec.block_size), level))
    for name, clean_lr in images:
        padded = pad_to_multiple(clean_lr, codec.block_size)
        if pre_encoded is None:
            start = time.perf_counter()
            data = codec.encode(padded, level)
            encode_ms.append(1000 * (time.perf_counter() - start))
        else:
            data = pre_encoded.encoded_path(name).read_bytes()
        start = time.perf_counter()
        decoded = codec.decode(data)
        decode_ms.append(1000 * (time.perf_counter() - start))
        measured = measure_decoded(clean_lr, decoded, len(data))
        bpps.append(measured.bpp)
        psnrs_y.append(measured.psnr_y)
        psnrs_rgb.append(measured.psnr_rgb)
    return Row(
        codec.name, str(level), float(np.mean(bpps)), float(np.mean(psnrs_y)), float(np.mean(psnrs_rgb)),
        float(np.mean(encode_ms)) if encode_ms else None, float(np.mean(decode_ms)),
    )  # fmt: skip


def check_ordering(rows: list[Row]) -> list[str]:
    """Problems with the heavy -> light ordering of the jpeg/hevc/vvc rows (empty when all is well)."""
    problems = []
    for name in ORDERED_CODECS:
        mine = [row for row in rows if row.codec == name]
        for heavier, lighter in zip(mine, mine[1:]):
            if not (heavier.bpp < lighter.bpp and heavier.psnr_y < lighter.psnr_y):
                problems.append(f"{name} level {heavier.level} is not below level {lighter.level} in both bpp and PSNR")
    return problems


def markdown(set_name: str, count: int, rows: list[Row]) -> str:
    lines = [
        f"**{set_name}** ({count} LR images)",
        "",
        "| codec | level | bpp | PSNR-Y (dB) | PSNR-RGB (dB) | encode ms | decode ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        encode = "n/a (pre-encoded)" if row.encode_ms is None else f"{row.encode_ms:.1f}"
        lines.append(
            f"| {row.codec} | {row.level} | {row.bpp:.3f} | {row.psnr_y:.2f} | {row.psnr_rgb:.2f} | {encode} "
            f"| {row.decode_ms:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_data_root(), help="shared data folder")
    parser.add_argument("--sets", nargs="+", default=["eval/kodak24", "eval/bsd100"])
    parser.add_argument("--codecs", nargs="+", default=[name for name in list_codecs() if name not in ("external", "clean")])
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set only")
    parser.add_argument("--encode-vvc", action="store_true", help="encode VVC with vvenc, not the shipped streams")
    args = parser.parse_args()

    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; Pillow {package_version('pillow')}, "
        f"PyAV {package_version('av')}, imagecodecs {package_version('imagecodecs')}, "
        f"pillow-heif {package_version('pillow-heif')}\n"
    )
    problems = []
    for set_name in args.sets:
        images = load_clean_lrs(args.data / set_name, args.limit)
        rows = []
        for codec_name in args.codecs:
            codec = get_codec(codec_name)
            for level in codec.levels:
                pre_encoded = None
                if codec_name == "vvc" and not args.encode_vvc:
                    pre_encoded = Degradation("vvc", level, pre_encoded=vvc_bitstream_template(args.data, set_name))
                rows.append(benchmark(codec, level, images, pre_encoded))
        print(markdown(set_name, len(images), rows) + "\n")
        problems += [f"{set_name}: {problem}" for problem in check_ordering(rows)]
    print("\n".join(problems) if problems else "ordering check: jpeg, hevc and vvc go heavy -> light in bpp and PSNR-Y")


if __name__ == "__main__":
    main()
