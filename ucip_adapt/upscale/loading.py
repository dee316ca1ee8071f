"""Load the backbone and prompt packs the upscaler runs: the bundled ones unless told otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from huggingface_hub.errors import HfHubHTTPError

from ..blind.estimator import CodecEstimator
from ..bundled import DEFAULT_BACKBONE_ID
from ..modeling.ucip import UCIP

DEFAULT_BACKBONE = DEFAULT_BACKBONE_ID
"""The bundled backbone (Hub id ``ucip-adapt/ucip-small-x4``), trained on the seen codecs jpeg, hevc, vvc and webp."""

DEFAULT_PROMPT_PACKS: tuple[str, ...] = tuple(f"{DEFAULT_BACKBONE}-{codec}" for codec in ("avif", "jxl", "jpeg2000", "h264", "heic"))
"""The bundled packs of ``DEFAULT_BACKBONE``, one per unseen codec (``...-avif``, ``-jxl``, ``-jpeg2000``,
``-h264``, ``-heic``); loaded with it by default."""


def load_model(backbone: str | None = None, prompts: Sequence[str] | None = None) -> UCIP:
    """The backbone (path, folder or Hub id; default ``DEFAULT_BACKBONE``) with its prompt packs.

    ``prompts`` defaults to ``DEFAULT_PROMPT_PACKS`` for the default backbone and to none for
    another backbone (packs only fit the backbone they were tuned on); pass ``[]`` for none.

    Raises:
        ValueError: the backbone or a pack cannot be found or read; the message says how to fix it.
    """
    if prompts is None:
        prompts = DEFAULT_PROMPT_PACKS if backbone is None else ()
    source = backbone or DEFAULT_BACKBONE
    model = _load(lambda: UCIP.from_pretrained(source), "backbone", source, default=backbone is None)
    for pack in prompts:
        _load(lambda: model.load_prompts(pack), "prompt pack", pack, default=backbone is None and pack in DEFAULT_PROMPT_PACKS)
    return model.eval()


def load_estimator_of(model: UCIP) -> CodecEstimator | None:
    """The codec estimator of ``model``'s repository or folder, or None when it holds none (files
    no codec made then go to the ``clean`` task, and ``--task auto`` is refused)."""
    try:
        return model.load_estimator()
    except FileNotFoundError:
        return None


def _load(load, what: str, source: str, default: bool):  # type: ignore[no-untyped-def]
    try:
        return load()
    except (OSError, HfHubHTTPError) as error:
        hint = (
            f"This is the default {what}: pass --backbone/--prompts to use local files, or fetch it once while online "
            f"(hf download {source}) so that it is in the Hub cache."
            if default
            else "Pass a folder written by save_pretrained/save_prompts, a .safetensors file, or a Hub id that exists."
        )
        raise ValueError(f"Cannot load the {what} {source!r}: {str(error).rstrip('.')}. {hint}") from error
