"""``CodecEstimator``: which codec (and how hard) compressed a picture, from its decoded pixels alone.

A small CNN (the picture and its high-pass detail, four 3x3 convolutions, three of stride 2, then
the mean and standard deviation of its features) that sees a few LR crops at full resolution, where block edges, ringing and smoothing
are, and outputs a probability per codec (``clean`` included) and per standard level. It sees at
most ``crops`` crops, whatever the picture's size: a small fraction of one ucip-small forward (its
card gives the measured share). Trained by ``recipes/train_task_estimator.py``; shipped in the bundled
backbone's repository under ``estimator/`` (``config.json`` + ``model.safetensors``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from torch.nn import functional as F

from ..atomic import atomic_path, atomic_write_text
from ..bundled import DEFAULT_BACKBONE_ID
from ..hub import resolve_folder

HIGH_PASS_GAIN = 8.0
"""The network sees the picture and its detail (the picture minus its 3x3 mean), scaled up: coding
artifacts are a few grey levels, far below the picture's own contrast."""
ESTIMATOR_SUBFOLDER = "estimator"
"""Where a backbone repository keeps its estimator."""
ESTIMATOR_FILES = (f"{ESTIMATOR_SUBFOLDER}/config.json", f"{ESTIMATOR_SUBFOLDER}/model.safetensors")


@dataclass
class EstimatorConfig:
    """Shape and knowledge of an estimator.

    Attributes:
        codecs: the classes, codec names and ``clean`` (never compressed).
        num_levels: standard levels per codec (heavy -> light), the second head's classes.
        width: channels of the last convolution.
        crop: side of the LR crops it sees; smaller pictures are seen whole.
        crops: most crops per picture, on an even grid over it.
        fallback_tasks: codec -> the backbone task that restored it best on the training photos'
            validation pairs, for codecs with no task or pack of their own.
    """

    codecs: list[str]
    num_levels: int = 4
    width: int = 96
    crop: int = 64
    crops: int = 8
    fallback_tasks: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Estimate:
    """What the estimator believes about one picture."""

    codec: str
    confidence: float
    level: int
    """Index of the most likely standard level, 0 = heaviest."""
    probabilities: dict[str, float]


class CodecEstimator(nn.Module):
    """Codec family and level of LR pictures; see the module docstring."""

    def __init__(self, config: EstimatorConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.features = nn.Sequential(
            nn.Conv2d(6, w // 4, 3, padding=1), nn.GELU(),
            nn.Conv2d(w // 4, w // 2, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(w // 2, w, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(w, w, 3, stride=2, padding=1), nn.GELU(),
        )
        self.head = nn.Linear(2 * w, len(config.codecs) + config.num_levels)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Codec and level logits of crops ``[B, 3, h, w]`` in [0, 1]."""
        detail = x - F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        features = self.features(torch.cat([x - 0.5, HIGH_PASS_GAIN * detail], dim=1)).flatten(2)
        pooled = torch.cat([features.mean(-1), features.std(-1, unbiased=False)], dim=1)
        logits = self.head(pooled)
        return logits[:, : len(self.config.codecs)], logits[:, len(self.config.codecs) :]

    @torch.inference_mode()
    def estimate(self, image: Tensor) -> Estimate:
        """The estimate for one picture ``[3, H, W]`` in [0, 1]: probabilities averaged over its crops."""
        codec_logits, level_logits = self(grid_crops(image, self.config.crop, self.config.crops))
        codec_probs = codec_logits.softmax(-1).mean(0)
        best = int(codec_probs.argmax())
        return Estimate(
            codec=self.config.codecs[best],
            confidence=float(codec_probs[best]),
            level=int(level_logits.softmax(-1).mean(0).argmax()),
            probabilities={name: float(p) for name, p in zip(self.config.codecs, codec_probs)},
        )

    def save(self, folder: str | Path) -> None:
        """Write ``config.json`` and ``model.safetensors`` into ``folder``, atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / "model.safetensors") as tmp:
            save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(tmp), metadata={"format": "pt"})
        atomic_write_text(folder / "config.json", json.dumps(asdict(self.config), indent=2) + "\n")


def load_estimator(source: str | Path = DEFAULT_BACKBONE_ID) -> CodecEstimator:
    """The estimator of a backbone repository or folder (its ``estimator/`` sub-folder), or a folder
    written by :meth:`CodecEstimator.save`. Loading is strict; a corrupt file is a ValueError."""
    folder = _estimator_folder(source)
    config = EstimatorConfig(**json.loads((folder / "config.json").read_text()))
    estimator = CodecEstimator(config)
    try:
        state = load_file(str(folder / "model.safetensors"))
    except (SafetensorError, OSError) as error:
        raise ValueError(f"Cannot read {folder / 'model.safetensors'} (truncated or corrupt safetensors file): {error}") from error
    try:
        estimator.load_state_dict(state)  # strict: names missing, unexpected and mis-shaped tensors
    except RuntimeError as error:
        raise ValueError(f"The estimator weights in {folder} do not fit its config.json: {error}") from None
    return estimator.eval()


def _estimator_folder(source: str | Path) -> Path:
    local = Path(source)
    if local.is_file():
        raise FileNotFoundError(f"{source} is a single weights file, with no estimator beside it; load one from a folder or repository")
    if local.is_dir() and not (local / ESTIMATOR_SUBFOLDER).is_dir():
        config = local / "config.json"
        if config.is_file() and "codecs" in json.loads(config.read_text()):
            return local  # a folder written by CodecEstimator.save
        raise FileNotFoundError(f"{source} holds no estimator (no {ESTIMATOR_SUBFOLDER}/ folder); train one with recipes/train_task_estimator.py")
    return resolve_folder(source, ESTIMATOR_FILES) / ESTIMATOR_SUBFOLDER


def grid_crops(image: Tensor, crop: int, most: int) -> Tensor:
    """Up to ``most`` crops of ``crop`` pixels on an even grid over ``image`` ``[3, H, W]``, as a
    batch; a picture smaller than ``crop`` on a side is one crop of its whole extent on that side."""
    height, width = image.shape[-2:]
    size_h, size_w = min(crop, height), min(crop, width)
    rows = max(1, min(height // size_h, round(most**0.5)))
    cols = max(1, min(width // size_w, most // rows))
    tops = torch.linspace(0, height - size_h, rows).round().long().tolist()
    lefts = torch.linspace(0, width - size_w, cols).round().long().tolist()
    return torch.stack([image[:, t : t + size_h, l : l + size_w] for t in tops for l in lefts])
