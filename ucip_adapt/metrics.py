"""PSNR and SSIM in the super-resolution convention (see docs/codecs.md), in numpy float64.

* Inputs are RGB uint8 HxWx3 arrays (round model outputs to uint8 first).
* Y channel of BT.601 YCbCr, limited range: Y = 16 + (65.481 R + 128.553 G + 24.966 B) with
  R, G, B in [0, 1], kept in float64 (not rounded).
* `crop_border` pixels (the scale, 4) are removed from every side before measuring.
* SSIM: 11x11 Gaussian window, sigma 1.5, over the valid region, K1 = 0.01, K2 = 0.03, L = 255.

These are the numbers of the usual SR papers (BasicSR's ``calculate_psnr/ssim(test_y_channel=True)``).
torchmetrics and scikit-image defaults (RGB, no crop), pyiqa and piq (YIQ luma) differ: never
compare across conventions. `load_sr_metric` exposes the same numbers as an `evaluate` metric.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_CROP_BORDER = 4
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)
_SSIM_WINDOW = 11
_SSIM_SIGMA = 1.5
_SSIM_C1 = (0.01 * 255) ** 2
_SSIM_C2 = (0.03 * 255) ** 2


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma in the limited range [16, 235] (float64) of an RGB uint8 HxWx3 image."""
    return 16.0 + (rgb.astype(np.float64) / 255.0) @ _Y_WEIGHTS


def psnr_y(prediction: np.ndarray, reference: np.ndarray, crop_border: int = DEFAULT_CROP_BORDER) -> float:
    """PSNR (dB, peak 255) of the BT.601 Y channels; inf for identical images."""
    prediction, reference = _checked_pair(prediction, reference, crop_border)
    return _psnr(rgb_to_y(prediction), rgb_to_y(reference))


def psnr_rgb(prediction: np.ndarray, reference: np.ndarray, crop_border: int = DEFAULT_CROP_BORDER) -> float:
    """PSNR (dB, peak 255) over all three RGB channels; inf for identical images."""
    prediction, reference = _checked_pair(prediction, reference, crop_border)
    return _psnr(prediction.astype(np.float64), reference.astype(np.float64))


def ssim_y(prediction: np.ndarray, reference: np.ndarray, crop_border: int = DEFAULT_CROP_BORDER) -> float:
    """Mean SSIM of the BT.601 Y channels (Gaussian 11x11 window, sigma 1.5, valid region)."""
    prediction, reference = _checked_pair(prediction, reference, crop_border)
    if min(prediction.shape[:2]) < _SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {_SSIM_WINDOW}x{_SSIM_WINDOW} after the border crop")
    return _ssim(rgb_to_y(prediction), rgb_to_y(reference))


def load_sr_metric(**kwargs: Any) -> Any:
    """The same metrics as an `evaluate.Metric` (``psnr_y``, ``ssim_y``, ``psnr_rgb``), loaded
    offline from the module file inside this package; `kwargs` go to `evaluate.load`.

        metric = load_sr_metric()
        metric.add_batch(predictions=[sr_uint8], references=[hr_uint8])
        metric.compute(crop_border=4)  # {"psnr_y": ..., "ssim_y": ..., "psnr_rgb": ...}
    """
    import evaluate

    return evaluate.load(str(Path(__file__).with_name("metrics_evaluate.py")), **kwargs)


def _checked_pair(prediction: np.ndarray, reference: np.ndarray, crop_border: int) -> tuple[np.ndarray, np.ndarray]:
    for role, image in (("prediction", prediction), ("reference", reference)):
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            described = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise ValueError(
                f"{role} must be an RGB uint8 array of shape (H, W, 3), got {described}; "
                "round model outputs to uint8 first, as the convention requires"
            )
    if prediction.shape != reference.shape:
        raise ValueError(f"prediction {prediction.shape} and reference {reference.shape} differ in shape")
    if crop_border < 0 or 2 * crop_border >= min(prediction.shape[:2]):
        size = f"{prediction.shape[1]}x{prediction.shape[0]}"
        raise ValueError(f"crop_border {crop_border} leaves nothing of a {size} image")
    if crop_border:
        window = (slice(crop_border, -crop_border), slice(crop_border, -crop_border))
        prediction, reference = prediction[window], reference[window]
    return prediction, reference


def _psnr(prediction: np.ndarray, reference: np.ndarray) -> float:
    mse = float(np.mean((prediction - reference) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def _gaussian_window() -> np.ndarray:
    offsets = np.arange(_SSIM_WINDOW, dtype=np.float64) - _SSIM_WINDOW // 2
    weights = np.exp(-(offsets**2) / (2 * _SSIM_SIGMA**2))
    return weights / weights.sum()


def _filter_valid(image: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Separable 2-D correlation with `weights`, keeping only the fully covered (valid) region."""
    rows = np.lib.stride_tricks.sliding_window_view(image, len(weights), axis=0) @ weights
    return np.lib.stride_tricks.sliding_window_view(rows, len(weights), axis=1) @ weights


def _ssim(x: np.ndarray, y: np.ndarray) -> float:
    weights = _gaussian_window()
    mu_x, mu_y = _filter_valid(x, weights), _filter_valid(y, weights)
    var_x = _filter_valid(x * x, weights) - mu_x**2
    var_y = _filter_valid(y * y, weights) - mu_y**2
    cov_xy = _filter_valid(x * y, weights) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + _SSIM_C1) * (2 * cov_xy + _SSIM_C2)) / (
        (mu_x**2 + mu_y**2 + _SSIM_C1) * (var_x + var_y + _SSIM_C2)
    )
    return float(ssim_map.mean())
