"""Fingerprints that tie a prompt pack to the exact backbone it was trained on.

A pack only means something on the frozen weights it was tuned against, so a pack records the
SHA-256 of its backbone's architecture and of its weights, and loading compares both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import torch
from torch import Tensor

from ..config import UCIPConfig


def config_fingerprint(config: UCIPConfig) -> str:
    """SHA-256 of the fields that fix the network's shapes and computation."""
    return hashlib.sha256(json.dumps(config.architecture(), sort_keys=True).encode()).hexdigest()


def weights_fingerprint(state: Mapping[str, Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
