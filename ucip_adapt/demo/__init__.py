"""The demo page: upload a compressed picture, see the task chosen for it and the x4 result beside
bicubic, download it. ``ucip-adapt demo`` serves it; ``space/app.py`` makes it a Hugging Face Space.

    from ucip_adapt.demo import build_demo, make_examples
    from ucip_adapt.upscale import load_model
    build_demo(load_model(), make_examples(folder)).launch()

Gradio is an optional dependency (``pip install "ucip-adapt[demo]"``); :mod:`.restore` works without it.
"""

from .examples import make_examples
from .restore import FROM_FILE, MAX_INPUT_PIXELS, Restoration, restore_file, task_choices


def build_demo(*args, **kwargs):  # type: ignore[no-untyped-def]
    """:func:`ucip_adapt.demo.app.build_demo`, imported on first use so that Gradio stays optional."""
    from .app import build_demo as build

    return build(*args, **kwargs)


__all__ = ["FROM_FILE", "MAX_INPUT_PIXELS", "Restoration", "build_demo", "make_examples", "restore_file", "task_choices"]
