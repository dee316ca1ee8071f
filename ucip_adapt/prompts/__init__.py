"""Prompt packs: the per-codec tensors learned on a frozen backbone, their file format and loader."""

from .pack_file import DEFAULT_WEIGHT_NAME, PromptPack, PromptPackError, read_pack, write_pack

__all__ = ["DEFAULT_WEIGHT_NAME", "PromptPack", "PromptPackError", "read_pack", "write_pack"]
