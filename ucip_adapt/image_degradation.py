"""The degradation pipeline of one image (docs/codecs.md, shared/data/README.md):

HR -> top-left crop to a multiple of 32 -> LR = Pillow bicubic x4 of the whole image -> pad the LR
to the codec's block size by edge replication -> encode and decode the whole LR -> crop back.
bpp counts the whole file or bitstream, headers included, over the LR pixels (without padding);
PSNRs compare the decoded LR with the uncompressed LR over all pixels (no border crop: the whole
LR went through the codec).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ucip_adapt.codecs import Codec, Level
from ucip_adapt.metrics import psnr_rgb, psnr_y

SCALE = 4
HR_MULTIPLE = 32  # HR sides are cropped to a multiple of this, so LR sides are multiples of 8


@dataclass(frozen=True)
class CompressedLR:
    """A decoded LR image and what its compression cost.

    Attributes:
        lr: the decoded LR, RGB uint8 HxWx3, same size as the uncompressed LR.
        num_bytes: size of the whole encoded file or bitstream.
        bpp: 8 * num_bytes / LR pixels.
        psnr_rgb: RGB PSNR (dB) against the uncompressed LR, all pixels.
        psnr_y: BT.601 Y PSNR (dB) against the uncompressed LR, all pixels.
    """

    lr: np.ndarray
    num_bytes: int
    bpp: float
    psnr_rgb: float
    psnr_y: float


@dataclass(frozen=True)
class DegradedPair:
    """One training/evaluation pair: mod-cropped HR, its uncompressed LR and the compressed LR."""

    hr: np.ndarray
    clean_lr: np.ndarray
    compressed: CompressedLR


def mod_crop(image: np.ndarray, multiple: int = HR_MULTIPLE) -> np.ndarray:
    """Top-left crop of an HxWxC array to a multiple of `multiple` in both dimensions."""
    height, width = image.shape[0] // multiple * multiple, image.shape[1] // multiple * multiple
    if height == 0 or width == 0:
        raise ValueError(
            f"image of {image.shape[1]}x{image.shape[0]} is smaller than {multiple}x{multiple}, "
            "the least the x4 pipeline can crop to"
        )
    return image[:height, :width]


def bicubic_downscale(hr: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """LR = Pillow ``resize(BICUBIC)`` (a = -0.5, antialiased) of the whole RGB uint8 image."""
    height, width = hr.shape[:2]
    if height % scale or width % scale:
        raise ValueError(f"HR of {width}x{height} is not a multiple of the scale {scale}; mod_crop it first")
    return np.asarray(Image.fromarray(hr).resize((width // scale, height // scale), Image.BICUBIC))


def pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Pad bottom and right by edge replication to a multiple of `multiple` (no copy if none needed)."""
    pad_height, pad_width = -image.shape[0] % multiple, -image.shape[1] % multiple
    if pad_height == 0 and pad_width == 0:
        return image
    return np.pad(image, ((0, pad_height), (0, pad_width), (0, 0)), mode="edge")


def measure_decoded(clean_lr: np.ndarray, decoded: np.ndarray, num_bytes: int) -> CompressedLR:
    """Crop a decoded (possibly padded) picture to the LR size and measure it against `clean_lr`."""
    height, width = clean_lr.shape[:2]
    if decoded.shape[0] < height or decoded.shape[1] < width:
        raise ValueError(
            f"decoded picture of {decoded.shape[1]}x{decoded.shape[0]} is smaller than the {width}x{height} LR"
        )
    lr = np.ascontiguousarray(decoded[:height, :width])
    return CompressedLR(
        lr=lr,
        num_bytes=num_bytes,
        bpp=8.0 * num_bytes / (height * width),
        psnr_rgb=psnr_rgb(lr, clean_lr, crop_border=0),
        psnr_y=psnr_y(lr, clean_lr, crop_border=0),
    )


def measure_compressed(clean_lr: np.ndarray, data: bytes, codec: Codec) -> CompressedLR:
    """Decode `data` (encoded from `clean_lr`, possibly padded), crop it to the LR and measure it."""
    return measure_decoded(clean_lr, codec.decode(data), len(data))


def compress_lr(clean_lr: np.ndarray, codec: Codec, level: Level) -> CompressedLR:
    """Pad the whole LR to the codec's block size, encode it at `level`, decode and crop back."""
    data = codec.encode(pad_to_multiple(clean_lr, codec.block_size), level)
    return measure_compressed(clean_lr, data, codec)


def make_clean_pair(rgb: np.ndarray, scale: int = SCALE) -> tuple[np.ndarray, np.ndarray]:
    """(HR, uncompressed LR) of an RGB uint8 image: mod-crop to 32, then bicubic downscale."""
    hr = mod_crop(rgb, HR_MULTIPLE)
    return hr, bicubic_downscale(hr, scale)


def degrade(rgb: np.ndarray, codec: Codec, level: Level, scale: int = SCALE) -> DegradedPair:
    """The full pipeline on one RGB uint8 image (read it with `ucip_adapt.image_io.read_image`)."""
    hr, clean_lr = make_clean_pair(rgb, scale)
    return DegradedPair(hr=hr, clean_lr=clean_lr, compressed=compress_lr(clean_lr, codec, level))
