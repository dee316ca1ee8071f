"""A Hub dataset id as the HR source: photos published to olah (a Hub mirror on 127.0.0.1) load by id
with their names and exact pixels, then again offline from the cache once the server is gone.

olah must be set up first (``bash tests/hub_servers/setup_olah.sh``); each client runs in a
subprocess with its own HF_* environment (see ``hub_servers.client``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from hub_servers.client import run_client
from hub_servers.olah_mirror import OlahServer, publish
from ucip_adapt.image_io import read_image

DATASET_ID = "ucip-test/photos"
PHOTOS = ("bird", "butterfly")

LOAD = """
import hashlib
from ucip_adapt.data import load_hr_images
from ucip_adapt.image_io import read_image

images = load_hr_images(inputs["source"], cache_dir=inputs["cache_dir"])
emit({row["name"]: hashlib.sha256(read_image(row["image"]["bytes"] or row["image"]["path"]).tobytes()).hexdigest()
      for row in images})
"""


def test_a_hub_dataset_id_loads_online_then_offline_from_the_cache(shared_data: Path, tmp_path: Path):
    card = tmp_path / "README.md"
    card.write_text("---\nlicense: other\n---\n# Two photos of set5, the HR source of a test\n")
    files = {"README.md": card, **{f"data/{name}.png": shared_data / "eval" / "set5" / f"{name}.png" for name in PHOTOS}}
    publish(tmp_path / "mirrors", DATASET_ID, files, "two photos", repo_type="dataset")
    expected = {name: hashlib.sha256(read_image(files[f"data/{name}.png"]).tobytes()).hexdigest() for name in PHOTOS}
    inputs = {"source": DATASET_ID, "cache_dir": str(tmp_path / "datasets-cache")}
    hf_home = str(tmp_path / "hf-home")

    with OlahServer(tmp_path / "mirrors", tmp_path / "olah-run") as url:
        online = run_client(LOAD, inputs=inputs, hf_env={"HF_ENDPOINT": url, "HF_HOME": hf_home})
    offline = run_client(LOAD, inputs=inputs, hf_env={"HF_ENDPOINT": url, "HF_HOME": hf_home, "HF_HUB_OFFLINE": "1"})

    assert online == expected
    assert offline == expected
