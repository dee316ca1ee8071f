"""Shared test fixtures: where the real data and the golden reference live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("UCIP_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the repository (override with ``UCIP_SHARED``)."""
    if not SHARED.is_dir():
        raise RuntimeError(f"The shared folder {SHARED} is missing; CI places it beside the repository.")
    return SHARED


@pytest.fixture(scope="session")
def golden_dir(shared_dir: Path) -> Path:
    return shared_dir / "golden" / "ucip_official_tiny_s0"


@pytest.fixture(autouse=True)
def _two_threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository, or $UCIP_SHARED_DATA: the real images and bitstreams."""
    root = Path(os.environ.get("UCIP_SHARED_DATA", SHARED / "data"))
    if not (root / "manifest.json").is_file():
        raise RuntimeError(f"shared data not found at {root}; set UCIP_SHARED_DATA to the folder holding manifest.json")
    return root


@pytest.fixture(scope="session")
def tiny_backbone_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random ucip-tiny backbone saved as a from_pretrained folder (seed 0)."""
    from ucip_adapt import UCIP
    from ucip_adapt.config import preset

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny") / "backbone"
    UCIP(preset("ucip-tiny")).save_pretrained(folder)
    return folder
