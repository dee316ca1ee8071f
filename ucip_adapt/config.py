"""Configuration of the UCIP x4 network and its named presets.

The configuration is a plain dataclass so that ``PyTorchModelHubMixin`` writes it to
``config.json`` and reads it back without any custom code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Optional

SEEN_TASKS: tuple[str, ...] = ("jpeg", "hevc", "vvc", "webp", "clean")
"""Task slots of the backbones this project trains: the codecs the backbone has seen, and ``clean``
(never-compressed LR, bicubic x4 only)."""

ANCHORS: tuple[Optional[str], ...] = (None, "bicubic")
"""Output paths: the release's (None) or a residual on top of Pillow's bicubic x4 of the input."""

RELEASE_TASKS: tuple[str, ...] = ("jpeg", "hevc", "vvc", "cheng-mse", "cheng-ssim", "hific")
"""Task slots of the authors' UCIP-Middle release, in the order its paper lists them."""


@dataclass
class UCIPConfig:
    """Hyper-parameters of a UCIP x4 network.

    Attributes:
        tasks: names of the task slots (one basic-prompt set per codec the backbone was trained on).
        depths: number of blocks in each stage; ``len(depths)`` is the number of stages.
        embed_dim: feature width C of the body.
        prompt_dim: prompt width Cp.
        num_prompts: number D of basic prompts mixed per pixel by the dynamic prompt module.
        mlp_ratio: hidden width of each block's MLP, as a multiple of ``embed_dim``.
        offset_share: how many adjacent channels share one predicted sampling offset.
        offset_interval: blocks per offset prediction; the blocks in between reuse it.
        upsampler_dim: width of the x4 upsampler.
        scale: upscaling factor; the network is x4 only.
        anchor: ``"bicubic"`` to predict a residual on top of a bicubic x4 of the input (the presets
            trained here), or None for the release's output path (the network draws the whole image).
        min_inference_side: inference mirrors a smaller input out to this many LR pixels a side and
            crops the result back: the network normalises with statistics of its whole input, which
            on a few pixels are far from those of the crops it trained on. ``pretrain_backbone.py``
            sets it to its largest crop. A property of the trained weights that changes no tensor
            shape; 1 (no minimum) for backbones that do not state it.
    """

    tasks: list[str] = field(default_factory=lambda: list(SEEN_TASKS))
    depths: list[int] = field(default_factory=lambda: [6] * 6)
    embed_dim: int = 128
    prompt_dim: int = 64
    num_prompts: int = 8
    mlp_ratio: float = 4.0
    offset_share: int = 2
    offset_interval: int = 2
    upsampler_dim: int = 64
    scale: int = 4
    anchor: Optional[str] = None
    min_inference_side: int = 1

    def __post_init__(self) -> None:
        self.tasks = [str(t) for t in self.tasks]
        self.depths = [int(d) for d in self.depths]
        problems = []
        if not self.tasks:
            problems.append("tasks must name at least one task slot")
        if len(set(self.tasks)) != len(self.tasks):
            problems.append(f"task names must be unique, got {self.tasks}")
        if not self.depths or min(self.depths) < 1:
            problems.append(f"depths must be positive block counts, got {self.depths}")
        if self.embed_dim % 4:
            problems.append(f"embed_dim must be a multiple of 4 (fusion width C/4), got {self.embed_dim}")
        if self.prompt_dim % 2:
            problems.append(f"prompt_dim must be even (SPADE hidden width Cp/2), got {self.prompt_dim}")
        if self.offset_share < 1 or (2 * self.embed_dim) % self.offset_share:
            problems.append(f"offset_share must divide 2*embed_dim={2 * self.embed_dim}, got {self.offset_share}")
        if self.offset_interval < 1:
            problems.append(f"offset_interval must be >= 1, got {self.offset_interval}")
        if self.scale != 4:
            problems.append(f"UCIP is an x4 network; scale must be 4, got {self.scale}")
        if self.min_inference_side < 1:
            problems.append(f"min_inference_side must be at least 1, got {self.min_inference_side}")
        if self.anchor not in ANCHORS:
            problems.append(f"anchor must be one of {ANCHORS}, got {self.anchor!r}")
        if problems:
            raise ValueError("Invalid UCIPConfig: " + "; ".join(problems))

    @property
    def num_stages(self) -> int:
        return len(self.depths)

    @property
    def mlp_hidden_dim(self) -> int:
        return int(self.embed_dim * self.mlp_ratio)

    def architecture(self) -> dict[str, Any]:
        """Every field that fixes tensor shapes and computation, task names excluded.

        Two backbones with equal architecture dicts accept the same prompt packs shape-wise.
        """
        arch = asdict(self)
        arch["num_tasks"] = len(arch.pop("tasks"))
        del arch["min_inference_side"]  # inference padding: no shape, no computation of the network
        if arch["anchor"] is None:  # the release's output path: backbones made before the anchor keep their fingerprints
            del arch["anchor"]
        return arch


PRESETS: dict[str, UCIPConfig] = {
    # The authors' released network: 11,424,291 parameters with its six task slots.
    "ucip-middle": UCIPConfig(tasks=list(RELEASE_TASKS)),
    # CPU-friendly backbone of about 1 M parameters: the release's six prompted stages, two blocks
    # each, at half width; about 1.3 M multiply-adds per LR pixel (see benchmarks/model.py); a
    # residual on top of bicubic, which a network trained on a CPU's budget needs to beat bicubic.
    "ucip-small": UCIPConfig(depths=[2] * 6, embed_dim=64, prompt_dim=32, upsampler_dim=32, anchor="bicubic"),
    # For tests: a few hundred thousand parameters, fast on one core; un-anchored, so that an untrained
    # one already tells its tasks apart (tests of anchoring name anchor="bicubic").
    "ucip-tiny": UCIPConfig(depths=[2, 2], embed_dim=32, prompt_dim=16, upsampler_dim=64),
}


def preset(name: str, **overrides: Any) -> UCIPConfig:
    """Return a copy of the named preset, with ``overrides`` applied (e.g. ``tasks=[...]``)."""
    if name not in PRESETS:
        raise KeyError(f"Unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return replace(PRESETS[name], **overrides)
