"""ucip-adapt: x4 super-resolution of compressed images with a frozen UCIP backbone and
per-codec prompt packs.

Heavy submodules are imported on first use so that ``import ucip_adapt.codecs`` stays light.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "UCIP": "ucip_adapt.modeling.ucip",
    "UCIPConfig": "ucip_adapt.config",
    "PRESETS": "ucip_adapt.config",
    "list_repo_packs": "ucip_adapt.prompts.sharing",
}

__all__ = ["UCIP", "UCIPConfig", "PRESETS", "list_repo_packs", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ucip_adapt' has no attribute {name!r}")
