"""`evaluate` metric for x4 super-resolution: PSNR-Y, SSIM-Y and RGB PSNR in the SR convention.

`evaluate.load` imports this file by path (``ucip_adapt.metrics.load_sr_metric`` does that), so it
works offline; the numbers come from `ucip_adapt.metrics`, which is usable without evaluate.
"""

from __future__ import annotations

import datasets
import evaluate
import numpy as np

from ucip_adapt.metrics import DEFAULT_CROP_BORDER, psnr_rgb, psnr_y, ssim_y

_DESCRIPTION = """PSNR and SSIM on the Y channel of BT.601 YCbCr (16-235) after cropping `crop_border`
pixels from each side, SSIM with an 11x11 Gaussian window (sigma 1.5), and RGB PSNR; float64, on
uint8 images. Each is the mean over the image pairs."""

_INPUTS = """
Args:
    predictions: super-resolved images, RGB uint8 HxWx3 (numpy arrays or PIL images).
    references: ground-truth HR images of the same sizes.
    crop_border: pixels removed from each side before measuring (default 4, the scale).
Returns:
    {"psnr_y": float, "ssim_y": float, "psnr_rgb": float}
"""

_CITATION = """@article{wang2004ssim,
  title={Image quality assessment: from error visibility to structural similarity},
  author={Wang, Zhou and Bovik, Alan C. and Sheikh, Hamid R. and Simoncelli, Eero P.},
  journal={IEEE Transactions on Image Processing}, volume={13}, number={4}, pages={600--612}, year={2004}
}"""


class SuperResolutionMetric(evaluate.Metric):
    """PSNR-Y, SSIM-Y and RGB PSNR of super-resolved images against their references."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_INPUTS,
            features=datasets.Features({"predictions": datasets.Image(), "references": datasets.Image()}),
        )

    def _compute(self, predictions, references, crop_border: int = DEFAULT_CROP_BORDER) -> dict[str, float]:
        pairs = [(np.asarray(p.convert("RGB")), np.asarray(r.convert("RGB"))) for p, r in zip(predictions, references)]
        return {
            "psnr_y": float(np.mean([psnr_y(p, r, crop_border) for p, r in pairs])),
            "ssim_y": float(np.mean([ssim_y(p, r, crop_border) for p, r in pairs])),
            "psnr_rgb": float(np.mean([psnr_rgb(p, r, crop_border) for p, r in pairs])),
        }
