"""Data on `datasets`: HR sources, the cached degraded pairs, random crops, and splits.

    from ucip_adapt.data import load_hr_images, build_training_set
    hr = load_hr_images()                                   # scikit-image photos, no download
    train = build_training_set(hr, ["jpeg", "hevc:37", "webp"], seed=0)
    item = train[0]                                         # {"lr": 3x64x64, "hr": 3x256x256, "task": "jpeg"}
"""

from ucip_adapt.data.crops import CropParams, RandomPairCrop, aligned_crop_params, apply_crop, dihedral
from ucip_adapt.data.degraded import (
    Degradation,
    degrade_dataset,
    parse_degradations,
    vvc_bitstream_template,
)
from ucip_adapt.data.embedded import EMBEDDED_PHOTO_FILES, embedded_photos
from ucip_adapt.data.sources import from_dataset, image_folder, load_hr_images
from ucip_adapt.data.split import is_heldout, split_heldout
from ucip_adapt.data.training import build_training_set, degraded_pairs, vvc_pairs

__all__ = [
    "CropParams",
    "Degradation",
    "EMBEDDED_PHOTO_FILES",
    "RandomPairCrop",
    "aligned_crop_params",
    "apply_crop",
    "build_training_set",
    "degrade_dataset",
    "degraded_pairs",
    "dihedral",
    "embedded_photos",
    "from_dataset",
    "image_folder",
    "is_heldout",
    "load_hr_images",
    "parse_degradations",
    "split_heldout",
    "vvc_bitstream_template",
    "vvc_pairs",
]
