"""Resumable training checkpoints holding only what training changes.

A checkpoint folder ``checkpoint-<step>/`` holds the trainable tensors and their EMA
(safetensors, with the best validated state where the run selects one), the optimizer state (``torch.save``, read back with ``weights_only=True``), torch's RNG
state and ``state.json`` (step, run arguments). A prompt run's checkpoint therefore holds its pack
tensors, never the frozen backbone. Folders are written under a temporary name and renamed, so an
interrupted save never leaves a checkpoint that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

PREFIX = "checkpoint-"


@dataclass
class TrainingState:
    step: int
    trainable: dict[str, Tensor]
    ema: dict[str, Tensor]
    optimizer: dict[str, Any]
    extra: dict[str, Any]
    best: dict[str, Tensor] = field(default_factory=dict)
    """The best validated weights so far, when the run selects its best state (else empty)."""


def save_checkpoint(output_dir: str | Path, state: TrainingState, keep: int = 2) -> Path:
    """Write ``checkpoint-<step>`` atomically and keep only the ``keep`` newest ones."""
    output_dir = Path(output_dir)
    final = output_dir / f"{PREFIX}{state.step:08d}"
    tmp = output_dir / f".{final.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in state.trainable.items()}, str(tmp / "trainable.safetensors"))
    save_file({k: v.detach().cpu().contiguous() for k, v in state.ema.items()}, str(tmp / "ema.safetensors"))
    torch.save(state.optimizer, tmp / "optimizer.pt")
    save_file({"torch": torch.get_rng_state()}, str(tmp / "rng.safetensors"))
    if state.best:
        save_file({k: v.detach().cpu().contiguous() for k, v in state.best.items()}, str(tmp / "best.safetensors"))
    meta = {"step": state.step, **state.extra}
    (tmp / "state.json").write_text(json.dumps(meta, indent=2, default=str))
    for file in tmp.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in list_checkpoints(output_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    return sorted(p for p in output_dir.glob(f"{PREFIX}*") if p.is_dir() and (p / "state.json").is_file())


def load_checkpoint(path: str | Path) -> TrainingState:
    """Read a checkpoint back (tensors from safetensors, optimizer with ``weights_only=True``)."""
    path = Path(path)
    meta = json.loads((path / "state.json").read_text())
    torch.set_rng_state(load_file(str(path / "rng.safetensors"))["torch"])
    return TrainingState(
        step=int(meta.pop("step")),
        trainable=load_file(str(path / "trainable.safetensors")),
        ema=load_file(str(path / "ema.safetensors")),
        optimizer=torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True),
        extra=meta,
        best=load_file(str(path / "best.safetensors")) if (path / "best.safetensors").is_file() else {},
    )


def check_output_dir(output_dir: str | Path, resume: bool) -> list[Path]:
    """The checkpoints a run in ``output_dir`` continues from, after refusing what would lose work:
    a file in the way, a new run over an earlier run's checkpoints, ``--resume`` with nothing to resume."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise FileExistsError(f"--output-dir {output_dir} is a file, not a folder; choose another --output-dir.")
    found = list_checkpoints(output_dir)
    if found and not resume:
        raise FileExistsError(f"{output_dir} already holds checkpoints (newest {found[-1].name}); pass --resume to continue "
                              "that run or choose another --output-dir.")
    if resume and not found:
        raise FileNotFoundError(f"--resume: no checkpoint in {output_dir}; start without --resume.")
    return found
