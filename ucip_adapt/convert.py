"""Conversion of the authors' UCIP checkpoints (raw ``state_dict`` ``.pth``) to this project's format.

The mapping is a contract: every tensor of a release checkpoint lands on exactly one parameter of
:class:`ucip_adapt.UCIP` and every parameter receives exactly one tensor; anything else is an error
that names the offending keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import Tensor

from .config import UCIPConfig
from .tensor_check import describe_mismatch

_Rule = tuple[re.Pattern[str], str, Callable[[Tensor], Tensor] | None]


def _squeeze_1x1(weight: Tensor) -> Tensor:
    """A 1x1 convolution kernel ``[out, in, 1, 1]`` as a Linear weight ``[out, in]``."""
    return weight.reshape(weight.shape[0], weight.shape[1])


def _flatten_bank(bank: Tensor) -> Tensor:
    """The release's prompt bank ``[T, D, 1, 1, Cp]`` as ``[T, D, Cp]``."""
    return bank.reshape(bank.shape[0], bank.shape[1], bank.shape[-1])


_BLOCK = r"blocks\.(\d+)\.(\d+)\."
_RULES: list[_Rule] = [
    (re.compile(r"patch_embed\.proj\.(weight|bias)"), r"stem.\1", None),
    (re.compile(_BLOCK + r"atm\.atm_w\.weight"), r"stages.\1.blocks.\2.mixer.mix_x.weight", _squeeze_1x1),
    (re.compile(_BLOCK + r"atm\.atm_h\.weight"), r"stages.\1.blocks.\2.mixer.mix_y.weight", _squeeze_1x1),
    (re.compile(_BLOCK + r"atm\.atm_w\.bias"), r"stages.\1.blocks.\2.mixer.mix_x.bias", None),
    (re.compile(_BLOCK + r"atm\.atm_h\.bias"), r"stages.\1.blocks.\2.mixer.mix_y.bias", None),
    (re.compile(_BLOCK + r"atm\.atm_local\.(weight|bias)"), r"stages.\1.blocks.\2.mixer.local.\3", None),
    (re.compile(_BLOCK + r"atm\.(fusion\.fc[12]|proj)\.(weight|bias)"), r"stages.\1.blocks.\2.mixer.\3.\4", None),
    (re.compile(_BLOCK + r"(norm1|norm2|mlp\.fc1|mlp\.fc2)\.(weight|bias)"), r"stages.\1.blocks.\2.\3.\4", None),
    (re.compile(_BLOCK + r"offset_layer\.0\.(weight|bias)"), r"stages.\1.blocks.\2.offsets.norm.\3", None),
    (re.compile(_BLOCK + r"offset_layer\.1\.(weight|bias)"), r"stages.\1.blocks.\2.offsets.proj.\3", None),
    (re.compile(_BLOCK + r"spade\.mlp_shared\.0\.(weight|bias)"), r"stages.\1.blocks.\2.spade.shared.\3", None),
    (re.compile(_BLOCK + r"spade\.mlp_(gamma|beta)\.(weight|bias)"), r"stages.\1.blocks.\2.spade.\3.\4", None),
    (re.compile(r"prompts\.(\d+)\.prompt"), r"stages.\1.prompt.bank", _flatten_bank),
    (re.compile(r"prompts\.(\d+)\.basis_mlp\.(fc[12])\.(weight|bias)"), r"stages.\1.prompt.coef_head.\2.\3", None),
    (re.compile(r"pos_blocks\.(\d+)\.proj\.(weight|bias)"), r"stages.\1.pos_conv.\2", None),
    (re.compile(r"norm\.(weight|bias)"), r"body_norm.\1", None),
    (re.compile(r"conv_after_body\.(weight|bias)"), r"body_conv.\1", None),
    (re.compile(r"conv_before_up\.0\.(weight|bias)"), r"upsampler.conv_in.\1", None),
    (re.compile(r"(conv_up1|conv_up2|conv_hr)\.(weight|bias)"), r"upsampler.\1.\2", None),
    (re.compile(r"conv_last\.(weight|bias)"), r"upsampler.conv_out.\1", None),
]


def official_key_to_ours(key: str) -> tuple[str, Callable[[Tensor], Tensor] | None] | None:
    """Our parameter name (and the reshape it needs) for a release key, or None if unknown."""
    for pattern, replacement, transform in _RULES:
        if pattern.fullmatch(key):
            return pattern.sub(replacement, key), transform
    return None


def convert_official_state_dict(official: Mapping[str, Tensor], expected: Mapping[str, torch.Size]) -> dict[str, Tensor]:
    """Map a release state dict onto our names, checking names and shapes against ``expected``.

    Raises:
        ValueError: naming release keys nothing maps to, parameters nothing fills, and shape
            mismatches, so that a wrong ``--depths``/``--embed-dim``/... is spotted at once.
    """
    converted: dict[str, Tensor] = {}
    unknown: dict[str, torch.Size] = {}
    for key, tensor in official.items():
        mapped = official_key_to_ours(key)
        if mapped is None or mapped[0] not in expected:
            unknown[key] = tensor.shape  # named as in the release: it has no name of ours
            continue
        name, transform = mapped
        value = transform(tensor) if transform is not None else tensor
        converted[name] = value.detach().to(torch.float32).contiguous()
    problem = describe_mismatch({**unknown, **{name: t.shape for name, t in converted.items()}}, expected)
    if problem:
        raise ValueError(f"The checkpoint does not match the configured UCIP network ({problem}). "
                         "Check --depths, --embed-dim, --prompt-dim, --mlp-ratio, --share-dim, --interval and --tasks.")
    return converted


def load_official_checkpoint(path: str | Path) -> dict[str, Tensor]:
    """Read a release ``.pth`` safely (``weights_only=True``), accepting only a flat state dict."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise ValueError(f"Cannot read {path} as a PyTorch checkpoint (truncated, corrupt or not a state dict): {exc}") from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a raw state_dict of tensors (the format the UCIP release saves).")
    return dict(state)


def convert_official_checkpoint(path: str | Path, config: UCIPConfig):
    """Build a :class:`~ucip_adapt.UCIP` holding the weights of a release checkpoint."""
    from .modeling.ucip import UCIP

    model = UCIP(config)
    expected = {name: tensor.shape for name, tensor in model.backbone_state_dict().items()}
    model.load_backbone_state_dict(convert_official_state_dict(load_official_checkpoint(path), expected))
    return model.eval()
