"""The prompt-pack file: one safetensors file with its metadata as JSON in the header.

Tensor keys are the backbone's own parameter names with the pack's name left out (as PEFT does
for adapters), e.g. ``stages.0.prompt.packs.bank`` for ``stages.0.prompt.packs.avif.bank``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor

from ..atomic import atomic_path

PACK_FORMAT = "ucip-prompt-pack"
PACK_FORMAT_VERSION = 1
DEFAULT_WEIGHT_NAME = "prompt_pack.safetensors"
METADATA_KEY = "ucip_prompt_pack"


class PromptPackError(ValueError):
    """A prompt pack that cannot be used: corrupt, of an unknown format, or for another backbone."""


@dataclass
class PromptPack:
    """A pack in memory: ``tensors`` keyed as in the file, and its ``metadata``.

    Metadata fields: ``format``, ``format_version``, ``name``, ``codec``, ``levels``,
    ``base_model`` (id), ``base_fingerprint`` (``config``/``weights`` SHA-256), ``shapes``,
    ``training`` (steps, data, wall time, ...) and ``metrics`` (measured PSNR), the last ones as the
    trainer fills them.
    """

    tensors: dict[str, Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)


def write_pack(path: str | Path, pack: PromptPack) -> Path:
    """Write ``pack`` to ``path`` atomically (never a half-written file) and return the path.

    The metadata keeps the order it was given in, so a pack read and saved again renders the same card
    (its evaluation sets, for one, in the order they were scored). A file that already holds this very
    pack is left untouched: safetensors orders the header's keys differently from run to run, so
    rewriting it would change its bytes (and show a bundled pack as modified) with nothing new in it."""
    metadata = {"format": PACK_FORMAT, "format_version": PACK_FORMAT_VERSION, **pack.metadata}
    tensors = {key: t.detach().cpu().contiguous() for key, t in pack.tensors.items()}
    path = Path(path)
    if _holds(path, tensors, metadata):
        return path
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "pt", METADATA_KEY: json.dumps(metadata)})
    return path


def _holds(path: Path, tensors: dict[str, Tensor], metadata: dict[str, Any]) -> bool:
    """Whether ``path`` is a readable pack with exactly these tensors and this metadata."""
    if not path.is_file():
        return False
    try:
        existing = read_pack(path)
    except PromptPackError:
        return False
    return (existing.metadata == json.loads(json.dumps(metadata)) and existing.tensors.keys() == tensors.keys()
            and all(existing.tensors[key].dtype == tensor.dtype and existing.tensors[key].equal(tensor) for key, tensor in tensors.items()))


def read_pack(path: str | Path) -> PromptPack:
    """Read and validate a pack file; a truncated, corrupt or foreign file raises :class:`PromptPackError`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Prompt pack not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise PromptPackError(f"{path} is not a readable safetensors file (truncated or corrupt?): {exc}") from exc
    if METADATA_KEY not in header:
        raise PromptPackError(f"{path} is a safetensors file but not a UCIP prompt pack (no '{METADATA_KEY}' header entry).")
    try:
        metadata = json.loads(header[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise PromptPackError(f"{path}: the pack metadata is not valid JSON: {exc}") from exc
    if metadata.get("format") != PACK_FORMAT or metadata.get("format_version", 0) > PACK_FORMAT_VERSION:
        raise PromptPackError(
            f"{path}: pack format {metadata.get('format')!r} version {metadata.get('format_version')} is not supported "
            f"(this ucip-adapt reads {PACK_FORMAT!r} up to version {PACK_FORMAT_VERSION}); upgrade ucip-adapt."
        )
    return PromptPack(tensors, metadata)


def refuse_to_replace(path: Path, name: str) -> None:
    """Raise :class:`PromptPackError` unless ``path`` is free or holds an earlier save of pack ``name``:
    saving never replaces another pack, nor a file that is not a pack."""
    if not path.exists():
        return
    try:
        existing = read_pack(path).metadata.get("name")
    except (PromptPackError, FileNotFoundError):
        raise PromptPackError(f"{path} exists and is not a prompt pack; it is not replaced. Choose another path.") from None
    if existing != name:
        raise PromptPackError(f"{path} holds the prompt pack {existing!r}, not {name!r}; it is not replaced. "
                              "Choose another path, or delete that pack first.")
