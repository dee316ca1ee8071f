"""The codec registry: names -> codec factories, with the built-in codecs, `register_codec` and
the ``ucip_adapt.codecs`` entry-point group that installed packages use to add codecs."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Union

from ucip_adapt.codecs.base import Codec, UnknownCodecError
from ucip_adapt.codecs.external import ExternalCommandCodec
from ucip_adapt.codecs.heic import HeicCodec
from ucip_adapt.codecs.jxl import JxlCodec
from ucip_adapt.codecs.pillow_codecs import AvifCodec, CleanCodec, Jpeg2000Codec, JpegCodec, WebpCodec
from ucip_adapt.codecs.video import H264Codec, HevcCodec
from ucip_adapt.codecs.vvc import VvcCodec

ENTRY_POINT_GROUP = "ucip_adapt.codecs"

CodecFactory = Callable[..., Codec]

_REGISTRY: dict[str, Union[CodecFactory, Codec, EntryPoint]] = {
    "jpeg": JpegCodec,
    "hevc": HevcCodec,
    "vvc": VvcCodec,
    "webp": WebpCodec,
    "clean": CleanCodec,
    "avif": AvifCodec,
    "jxl": JxlCodec,
    "jpeg2000": Jpeg2000Codec,
    "h264": H264Codec,
    "heic": HeicCodec,
    "external": ExternalCommandCodec,
}
_entry_points_loaded = False


def register_codec(name: str, codec: Union[CodecFactory, Codec], *, replace: bool = False) -> None:
    """Register a codec under `name`: a `Codec` instance, or a class/callable that makes one
    (`get_codec(name, **options)` calls it with the options).

    Example::

        class MyCodec(Codec):
            name, levels, implementation = "mine", (10, 20, 30, 40), "my library 1.0"
            def encode(self, rgb, level): ...
            def decode(self, data): ...

        register_codec("mine", MyCodec)

    Raises ValueError if `name` is taken, unless `replace` is True.
    """
    _load_entry_points()
    if name in _REGISTRY and not replace:
        raise ValueError(f"codec {name!r} is already registered; pass replace=True to override it")
    if not (isinstance(codec, Codec) or callable(codec)):
        raise TypeError(f"register_codec({name!r}, ...) needs a Codec or a factory, got {type(codec).__name__}")
    _REGISTRY[name] = codec


def list_codecs() -> list[str]:
    """Names of all registered codecs, built-in first, in registration order."""
    _load_entry_points()
    return list(_REGISTRY)


def get_codec(name: str, /, **options: Any) -> Codec:
    """The codec registered as `name`, created with `options` (e.g. ``get_codec("hevc", preset="slow")``).

    Raises `UnknownCodecError` (a KeyError) listing the registered names for an unknown name, and
    `MissingCodecLibraryError` (an ImportError) naming the pip package when a library is missing.
    """
    _load_entry_points()
    if name not in _REGISTRY:
        raise UnknownCodecError(f"unknown codec {name!r}; registered codecs: {', '.join(_REGISTRY)}")
    entry = _REGISTRY[name]
    if isinstance(entry, EntryPoint):  # a plugin is imported when first asked for, not before
        try:
            entry = _REGISTRY[name] = entry.load()
        except Exception as error:
            message = f"codec {name!r} comes from the entry point {entry.value!r}, which failed to load: {error}"
            raise ImportError(message) from error
    if isinstance(entry, Codec):
        if options:
            raise TypeError(f"codec {name!r} was registered as a ready-made instance and takes no options")
        return entry
    return entry(**options)


def _load_entry_points() -> None:
    """Add the codecs that installed packages declare under [project.entry-points."ucip_adapt.codecs"]
    (by name only: each is imported by `get_codec` when first asked for)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        _REGISTRY.setdefault(entry_point.name, entry_point)
