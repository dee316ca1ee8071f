"""Data on `datasets`: HR sources, the cached degraded pairs, random crops, and splits.

    from ucip_adapt.data import load_hr_images, degraded_pairs
    hr = load_hr_images()                                   # scikit-image photos, no download
    pairs = degraded_pairs(hr, ["jpeg", "hevc:37", "webp"])  # cached; one row per image, codec and level
    row = pairs[0]                                          # {"name", "hr", "lr", "codec", "level", "task", "bpp", ...}

Names are imported from their submodules on first use, so that ``ucip_adapt.data.crops`` (all that
training from packed pairs needs) imports without ``datasets`` or the codec libraries.
"""

from importlib import import_module
from typing import Any

_SUBMODULE_OF = {
    "CropParams": "crops",
    "aligned_crop_params": "crops",
    "apply_crop": "crops",
    "dihedral": "crops",
    "Degradation": "degraded_dataset",
    "bitstream_folder_template": "degraded_dataset",
    "codec_degradations": "degraded_dataset",
    "degrade_dataset": "degraded_dataset",
    "parse_degradations": "degraded_dataset",
    "require_encoders": "degraded_dataset",
    "vvc_bitstream_template": "degraded_dataset",
    "EMBEDDED_PHOTO_FILES": "embedded",
    "embedded_photos": "embedded",
    "from_dataset": "sources",
    "image_files": "sources",
    "image_folder": "sources",
    "load_hr_images": "sources",
    "is_heldout": "split",
    "split_heldout": "split",
    "split_validation": "split",
    "degraded_pairs": "training",
    "vvc_pairs": "training",
}

__all__ = sorted(_SUBMODULE_OF)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULE_OF:
        return getattr(import_module(f"{__name__}.{_SUBMODULE_OF[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
