"""The demo page: the restoration it shows (task choice and why, x4 output beside bicubic, the PNG),
and the page itself driven in a real headless Chromium: upload a real JPEG, get its x4 back."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ucip_adapt.cli import main
from ucip_adapt.demo import FROM_FILE, MAX_INPUT_PIXELS, make_examples, restore_file, task_choices
from ucip_adapt.metrics import psnr_y
from ucip_adapt.upscale import TaskChooser, Upscaler, load_model
from ucip_adapt.upscale.loading import load_estimator_of

CHROMIUM = os.environ.get("UCIP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = os.environ.get("UCIP_DEMO_SCREENSHOT")
"""Where the browser test keeps its screenshot of the page (docs/images/demo-page.png is made so)."""


@pytest.fixture(scope="module")
def upscaler() -> Upscaler:
    return Upscaler(load_model())


@pytest.fixture(scope="module")
def chooser(upscaler: Upscaler) -> TaskChooser:
    return TaskChooser(upscaler.model, estimator=load_estimator_of(upscaler.model))


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_examples(tmp_path_factory.mktemp("examples"))


@pytest.fixture(scope="module")
def real_jpeg(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Kodak photo as the web delivers it: downscaled x4 to 96x64 and saved as JPEG quality 30."""
    photo = sorted((shared_data / "eval" / "kodak24").iterdir())[2]
    path = tmp_path_factory.mktemp("upload") / "kodak-q30.jpg"
    Image.open(photo).convert("RGB").crop((0, 0, 384, 256)).resize((96, 64), Image.Resampling.BICUBIC).save(path, quality=30)
    return path


def test_the_file_decides_the_task_and_the_reason_says_so(upscaler: Upscaler, chooser: TaskChooser, examples: list[Path], tmp_path: Path) -> None:
    chosen = {path.suffix: restore_file(upscaler, chooser, path, FROM_FILE, tmp_path) for path in examples}
    assert {suffix: result.task for suffix, result in chosen.items()} == {".jpg": "jpeg", ".webp": "webp", ".avif": "avif", ".png": "clean"}
    assert chosen[".jpg"].reason == "backbone task; container: JPEG"
    assert chosen[".avif"].reason == "prompt pack; container: AVIF"
    assert chosen[".png"].reason.startswith("backbone task; estimated clean (")
    for path, result in zip(examples, chosen.values()):
        height, width = np.asarray(Image.open(path)).shape[:2]
        assert result.restored.shape == result.bicubic.shape == (4 * height, 4 * width, 3)
        written = np.asarray(Image.open(result.output).convert("RGB"))
        np.testing.assert_array_equal(written, result.restored)
        assert psnr_y(result.restored, result.bicubic) < 60  # the network changed the picture


def test_a_task_chosen_by_hand_runs_and_an_unknown_one_names_the_choices(upscaler: Upscaler, chooser: TaskChooser, examples: list[Path], tmp_path: Path) -> None:
    jpeg = examples[0]
    by_hand = restore_file(upscaler, chooser, jpeg, "webp", tmp_path)
    assert by_hand.task == "webp" and by_hand.reason == "chosen by hand"
    from_file = restore_file(upscaler, chooser, jpeg, FROM_FILE, tmp_path / "other")
    assert not np.array_equal(by_hand.restored, from_file.restored)
    with pytest.raises(ValueError, match="Unknown task 'png'.*jpeg"):
        restore_file(upscaler, chooser, jpeg, "png", tmp_path)
    assert task_choices(upscaler.model) == [FROM_FILE, "jpeg", "hevc", "vvc", "webp", "clean", "avif", "jxl", "jpeg2000", "h264", "heic"]


def test_too_large_or_unreadable_files_are_refused_with_the_way_out(upscaler: Upscaler, chooser: TaskChooser, tmp_path: Path) -> None:
    side = int(MAX_INPUT_PIXELS**0.5) + 1
    large = tmp_path / "large.png"
    Image.new("RGB", (side, side)).save(large)
    with pytest.raises(ValueError, match="ucip-adapt upscale"):
        restore_file(upscaler, chooser, large, FROM_FILE, tmp_path)
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match="not an image file"):
        restore_file(upscaler, chooser, text, FROM_FILE, tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["large.png", "notes.jpg"]


def test_the_demo_command_refuses_a_busy_port_before_loading(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["demo", "--port", str(port)]) == 2
    assert f"Cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here: apt-get install chromium (CI's .ci/run installs it)")
def test_the_page_restores_an_uploaded_jpeg_in_a_real_browser(upscaler: Upscaler, examples: list[Path], real_jpeg: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from ucip_adapt.demo import build_demo

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    demo = build_demo(upscaler.model, examples, upscaler)
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.set_input_files("input[type=file] >> nth=0", real_jpeg)
            page.wait_for_selector("img[alt]", timeout=30_000)  # the upload's preview
            page.get_by_role("button", name="Restore x4").click()
            page.wait_for_selector("#restoration-info :text('Task:')", timeout=180_000)
            info = page.inner_text("#restoration-info")
            with page.expect_download() as download:
                page.locator("#restoration-file a").first.click()
            result = Image.open(download.value.path())
            result.load()
            page.screenshot(path=SCREENSHOT or tmp_path / "demo-page.png", full_page=True)
            browser.close()
    finally:
        demo.close()
    assert "container: JPEG" in info and "96x64 -> 384x256" in info
    assert result.size == (384, 256)
    bicubic_psnr = psnr_y(np.asarray(Image.open(real_jpeg).resize((384, 256), Image.Resampling.BICUBIC)), np.asarray(result.convert("RGB")))
    assert bicubic_psnr < 60  # the download is the network's output, not a resized copy
