"""RGB uint8 images to and from the tensors the network reads and writes.

The network takes ``[N, 3, H, W]`` float32 in [0, 1] and its outputs are rounded back to uint8, the
convention the metrics follow; training crops, evaluation and the upscaling engine convert here so
that they agree to the last bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor


def images_to_tensor(images: Sequence[np.ndarray], device: torch.device | None = None) -> Tensor:
    """Same-size RGB uint8 ``[H, W, 3]`` images as one float32 ``[N, 3, H, W]`` batch in [0, 1],
    on ``device`` (moved as uint8, a quarter of the bytes of the floats)."""
    batch = torch.from_numpy(np.stack(images))
    if device is not None:
        batch = batch.to(device)
    return batch.permute(0, 3, 1, 2).float().div_(255)


@torch.inference_mode()  # also lets it overwrite the inference tensors that `UCIP.upscale` returns
def tensor_to_images(sr: Tensor) -> list[np.ndarray]:
    """A batch ``[N, 3, H, W]`` with values in [0, 1] as RGB uint8 ``[H, W, 3]`` images, rounded to
    the nearest level. A float32 ``sr`` is overwritten (the full-size outputs are the largest
    tensors of inference: no copy is made)."""
    levels = sr.float().mul_(255).round_()
    return list(levels.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())
