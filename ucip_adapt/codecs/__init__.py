"""Image codecs for the degradation pipeline and the upscaler.

    from ucip_adapt.codecs import get_codec, list_codecs
    codec = get_codec("hevc")
    data = codec.encode(rgb_uint8_hwc, codec.levels[0])   # heaviest standard level
    rgb = codec.decode(data)

Built in: jpeg, hevc, vvc, webp, avif, jxl, jpeg2000, h264, heic, and ``external`` (any pair of
command lines, `ExternalCommandCodec`). Add your own with `register_codec` or an entry point in
the ``ucip_adapt.codecs`` group (see docs/codecs.md).
"""

from ucip_adapt.codecs.base import (
    Codec,
    CodecUnavailableError,
    Level,
    MissingCodecLibraryError,
    UnknownCodecError,
)
from ucip_adapt.codecs.external import ExternalCommandCodec
from ucip_adapt.codecs.registry import get_codec, list_codecs, register_codec
from ucip_adapt.codecs.signatures import detect_codec

__all__ = [
    "Codec",
    "CodecUnavailableError",
    "ExternalCommandCodec",
    "Level",
    "MissingCodecLibraryError",
    "UnknownCodecError",
    "detect_codec",
    "get_codec",
    "list_codecs",
    "register_codec",
]
