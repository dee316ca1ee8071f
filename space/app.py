"""The ucip-adapt demo as a Hugging Face Space: the same page as ``ucip-adapt demo``, on the
bundled backbone and prompt packs, which ship inside the package (nothing is downloaded)."""

import tempfile
from pathlib import Path

from ucip_adapt.demo import build_demo, make_examples
from ucip_adapt.upscale import load_model

demo = build_demo(load_model(), make_examples(Path(tempfile.mkdtemp(prefix="ucip-demo-examples-"))))

if __name__ == "__main__":
    demo.queue().launch()
