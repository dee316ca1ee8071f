"""Model cards (``README.md`` with Hub metadata) for backbones and prompt packs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from .atomic import atomic_write_text

LIBRARY_NAME = "ucip-adapt"


def pack_card(metadata: dict[str, Any]) -> ModelCard:
    """Card of a prompt pack: an adapter of its base backbone, tagged with its codec."""
    codec = metadata.get("codec", metadata.get("name", "unknown"))
    data = ModelCardData(
        library_name=LIBRARY_NAME,
        base_model=metadata.get("base_model") or None,
        tags=["ucip-prompt-pack", f"codec-{codec}", "super-resolution", "image-restoration"],
        pipeline_tag="image-to-image",
    )
    data.base_model_relation = "adapter"
    lines = [
        "---",
        data.to_yaml(),
        "---",
        "",
        f"# UCIP prompt pack: {metadata.get('name', codec)}",
        "",
        f"Basic prompts and coefficient heads that adapt a frozen UCIP x4 backbone to **{codec}** "
        f"compressed inputs ({metadata.get('num_parameters', '?')} parameters). Nothing of the backbone is stored here.",
        "",
        f"- Base backbone: `{metadata.get('base_model') or 'a local backbone'}` (weights SHA-256 "
        f"`{metadata.get('base_fingerprint', {}).get('weights', '?')[:16]}...`)",
        f"- Levels trained on: {metadata.get('levels', 'not recorded')}",
        "",
        "```python",
        "from ucip_adapt import UCIP",
        f'model = UCIP.from_pretrained("{metadata.get("base_model") or "<base backbone>"}")',
        'name = model.load_prompts("<this repo or folder>")',
        "sr = model.upscale(lr, task=name)",
        "```",
    ]
    return ModelCard("\n".join(lines) + "\n")


def write_pack_card(folder: str | Path, metadata: dict[str, Any]) -> Path:
    """Write a pack's ``README.md`` into ``folder`` atomically."""
    path = Path(folder) / "README.md"
    atomic_write_text(path, str(pack_card(metadata)))
    return path


def backbone_card(config: Any, num_parameters: int, extra_markdown: str = "") -> ModelCard:
    """Card of a UCIP backbone: what it is, its task slots and shape, and how to use it."""
    data = ModelCardData(
        library_name=LIBRARY_NAME,
        tags=["super-resolution", "image-restoration", "compressed-image-super-resolution", "ucip"],
        pipeline_tag="image-to-image",
    )
    lines = [
        "---",
        data.to_yaml(),
        "---",
        "",
        "# UCIP x4 backbone",
        "",
        "Universal compressed-image super-resolution (UCIP, ECCV 2024): one x4 network whose dynamic prompt "
        "module mixes a few learned basic prompts per codec into a per-pixel prompt that steers every block. "
        "New codecs are added with prompt packs (a few tens of KB) while this backbone stays frozen.",
        "",
        f"- Parameters: {num_parameters:,}",
        f"- Task slots (codecs seen in training): {', '.join(config.tasks)}",
        f"- Stages x blocks: {config.depths}, width {config.embed_dim}, prompt width {config.prompt_dim}, "
        f"{config.num_prompts} basic prompts per task",
        "- Input: RGB in [0, 1], LR of any size; output: x4, clamped to [0, 1] by `upscale`.",
        "",
        "```python",
        "from ucip_adapt import UCIP",
        'model = UCIP.from_pretrained("<this repo or folder>")',
        f'sr = model.upscale(lr, task="{config.tasks[0]}")',
        "```",
    ]
    if extra_markdown:
        lines += ["", extra_markdown.strip()]
    return ModelCard("\n".join(lines) + "\n")
