"""What a tuning run trains for a new codec, and what it writes.

* ``prompt`` (the product): a new task whose basic prompts and coefficient heads are the only
  trainable tensors; written as a prompt pack.
* ``lora``: PEFT LoRA on the backbone's linear and convolution layers; the codec runs through the
  best seen task; written in PEFT's adapter format.
* ``full``: every backbone weight trains; the codec runs through the best seen task; written as a
  complete ``save_pretrained`` folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ..atomic import atomic_write_text
from ..modeling.ucip import UCIP

METHODS = ("prompt", "lora", "full")

LORA_TARGETS = r".*\.(mixer\.(mix_x|mix_y|proj)|mlp\.(fc1|fc2)|offsets\.proj|spade\.(shared|gamma|beta))"
"""Every linear and 3x3 convolution inside the prompted blocks."""


@dataclass
class MethodSetup:
    """The model to train, its trainable tensors, the task the codec uses, and how to save."""

    model: nn.Module
    trainable: dict[str, nn.Parameter]
    task: str | int
    save: Callable[[Path, dict[str, Any]], Path]


def setup_method(
    method: str, backbone: UCIP, codec: str, init_from: str, *, lora_rank: int = 8, num_prompts: int | None = None
) -> MethodSetup:
    """Prepare ``backbone`` for ``method``; ``init_from`` is the seen task that starts the codec.
    ``num_prompts`` sizes a pack (default: the backbone's), ``lora_rank`` a LoRA."""
    if method == "prompt":
        backbone.add_prompts(codec, init_from=init_from, num_prompts=num_prompts, metadata={"codec": codec})
        params = backbone.train_only_prompts(codec)
        trainable = {n: p for n, p in backbone.named_parameters() if any(p is q for q in params)}

        def save_pack(out: Path, metadata: dict[str, Any]) -> Path:
            return backbone.save_prompts(out, codec, metadata=metadata)

        return MethodSetup(backbone, trainable, codec, save_pack)
    if method == "lora":
        from peft import LoraConfig, get_peft_model

        peft_model = get_peft_model(backbone, LoraConfig(r=lora_rank, lora_alpha=lora_rank, target_modules=LORA_TARGETS))
        trainable = {n: p for n, p in peft_model.named_parameters() if p.requires_grad}

        def save_lora(out: Path, metadata: dict[str, Any]) -> Path:
            peft_model.save_pretrained(out)
            write_tuning_record(out, metadata, method="lora", task=init_from)
            return out / "adapter_model.safetensors"

        return MethodSetup(peft_model, trainable, init_from, save_lora)
    if method == "full":
        backbone.requires_grad_(True)
        trainable = dict(backbone.named_parameters())

        def save_full(out: Path, metadata: dict[str, Any]) -> Path:
            backbone.save_pretrained(out)
            write_tuning_record(out, metadata, method="full", task=init_from)
            return out / "model.safetensors"

        return MethodSetup(backbone, trainable, init_from, save_full)
    raise ValueError(f"--method must be one of {METHODS}, got {method!r}")


TUNING_RECORD = "tuning.json"
"""Beside a LoRA adapter or a fine-tuned backbone: the codec, the method and the task it runs with."""


def write_tuning_record(folder: Path, metadata: dict[str, Any], *, method: str, task: str) -> None:
    atomic_write_text(Path(folder) / TUNING_RECORD, json.dumps({**metadata, "method": method, "task": task}, indent=2))
