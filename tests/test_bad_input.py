"""Bad and unusual input through every entry point: the CLI, the recipes and the API.

Each case asserts what docs/errors.md promises: a non-zero exit with one line naming the problem
(no traceback), nothing overwritten (every file in the case's folder keeps its bytes), no partial
or temporary file left, and for the API the model unchanged.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
import torch
from PIL import Image

from ucip_adapt import UCIP
from ucip_adapt.cli import main as cli_main
from ucip_adapt.config import preset
from ucip_adapt.errors import run_reporting_errors
from ucip_adapt.prompts.pack_file import PromptPackError

REPO = Path(__file__).resolve().parents[1]


def recipe(name: str) -> Callable[[list[str]], int]:
    """A recipe's ``main``, run the way its ``__main__`` block runs it (errors reported in one line)."""
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", REPO / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return lambda argv: run_reporting_errors(f"{name}.py", lambda: module.main(argv), debug=False)


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def exit_code(run: Callable[[], int]) -> int:
    """The exit status of a CLI-style call, whether it returns it or argparse raises SystemExit."""
    try:
        return run()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1


@pytest.fixture(scope="module")
def backbone(tiny_backbone_folder: Path) -> Path:
    return tiny_backbone_folder


@pytest.fixture
def workspace(tmp_path: Path, shared_data: Path) -> Path:
    """A user's folder: a real JPEG and PNG, an earlier result, notes and a file named like a folder."""
    photo = Image.open(shared_data / "eval/kodak24/kodim03.png").convert("RGB").crop((300, 200, 348, 232))
    photo.save(tmp_path / "a.jpg", quality=40)
    photo.save(tmp_path / "plain.png")
    (tmp_path / "README.md").write_text("my notes")
    (tmp_path / "runs").write_text("a file, not a folder")
    return tmp_path


CLI_CASES = {
    "output is its own input": (["upscale", "{w}/plain.png", "-o", "{w}/plain.png", "--task", "jpeg", "--overwrite"],
                                "would replace an input file"),
    "folder output holding the input": (["upscale", "{w}/a.jpg", "-o", "{w}", "--format", "jpg", "--overwrite"],
                                        "would replace an input file"),
    "overwrite a user's file": (["upscale", "{w}/a.jpg", "-o", "{w}/README.png", "--overwrite"], None),
    "no threads": (["upscale", "{w}/a.jpg", "-o", "{w}/out", "--threads", "0"], "--threads: must be at least 1"),
    "quality out of range": (["upscale", "{w}/a.jpg", "-o", "{w}/out", "--quality", "101"], "--quality: must be at most 100"),
    "missing input": (["upscale", "{w}/nope.jpg", "-o", "{w}/out"], "Input not found"),
    "unknown task": (["upscale", "{w}/a.jpg", "-o", "{w}/out", "--task", "avif"], "Unknown task 'avif'"),
    "unwritable format": (["upscale", "{w}/a.jpg", "-o", "{w}/out.xyz"], "not an image format Pillow writes"),
    "pull of a malformed repo id": (["pull", "not a repo id"], "not a repo id"),
    "push with no network": (["push", "{w}/pack", "me/pack"], "cannot reach http://127.0.0.1:9"),
    "pull --list offline": (["pull", "ucip-adapt/ucip-small-x4-avif", "--list"], "offline mode is on (HF_HUB_OFFLINE=1)"),
    "demo on a port out of range": (["demo", "--port", "0"], "--port: must be at least 1"),
    "demo with a missing backbone": (["demo", "--port", "65001", "--backbone", "{w}/nope"], "Cannot load the backbone"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_refuses_in_one_line_and_touches_nothing(case, workspace, backbone, capsys, monkeypatch):
    argv, message = CLI_CASES[case]
    if case == "overwrite a user's file":
        Image.new("RGB", (4, 4)).save(workspace / "README.png")
        message = "did not write, which --overwrite never replaces"
    if case == "push with no network":
        model = UCIP(preset("ucip-tiny"))
        model.add_prompts("avif")
        model.save_prompts(workspace / "pack", "avif")
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    if case == "pull --list offline":
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    argv = [part.format(w=workspace) for part in argv]
    if argv[0] == "upscale":
        argv += ["--backbone", str(backbone), "--quiet"]
    before = snapshot(workspace)
    code = exit_code(lambda: cli_main(argv))
    err = capsys.readouterr().err
    assert code not in (0, None), err
    assert "Traceback" not in err and err.strip(), err
    if message:
        assert message in err.strip().splitlines()[-1], err
    assert snapshot(workspace) == before
    assert not list(workspace.rglob("*.tmp"))


RECIPE_CASES = {
    "tune: output dir is a file": ("tune_prompts", ["--codec", "avif", "--output-dir", "{w}/runs"], "is a file, not a folder"),
    "tune: no steps": ("tune_prompts", ["--codec", "avif", "--steps", "0"], "--steps: must be at least 1"),
    "tune: resume with nothing to resume": ("tune_prompts", ["--codec", "avif", "--resume", "--output-dir", "{w}/new"], "no checkpoint in"),
    "tune: fewer basic prompts than the backbone": ("tune_prompts", ["--codec", "avif", "--num-prompts", "4", "--output-dir", "{w}/new"],
                                                    "--num-prompts 4: a pack has at least"),
    "tune: unknown codec": ("tune_prompts", ["--codec", "nope", "--output-dir", "{w}/new"], "unknown codec 'nope'"),
    "tune: an empty validation part": ("tune_prompts", ["--codec", "avif", "--validation-fraction", "0", "--output-dir", "{w}/new"],
                                       "so that each part has an image"),
    "pretrain: bad new-task spec": ("pretrain_backbone", ["--new-task-init", "clean", "--output-dir", "{w}/new"], "TASK=FROM"),
    "pretrain: vvc with no encoder": ("pretrain_backbone", ["--preset", "ucip-tiny", "--codecs", "vvc", "--data", "{w}", "--output-dir", "{w}/new"],
                                      "VVC encoding needs"),
    "evaluate: vvc with no encoder": ("evaluate", ["--data", "{w}", "--codecs", "jpeg,vvc", "--backbone", "{b}", "--out", "{w}/q.json"],
                                      "VVC encoding needs"),
}


@pytest.mark.parametrize("case", sorted(RECIPE_CASES))
def test_recipes_refuse_before_work_in_one_line(case, workspace, backbone, capsys, monkeypatch):
    if "vvc" in case and (shutil.which("vvencFFapp") or shutil.which("vvencapp")):
        pytest.skip("a VVC encoder is installed here")
    name, argv, message = RECIPE_CASES[case]
    monkeypatch.chdir(workspace)
    before = snapshot(workspace)
    code = exit_code(lambda: recipe(name)([part.format(w=workspace, b=backbone) for part in argv]))
    err = capsys.readouterr().err
    assert code not in (0, None), err
    assert "Traceback" not in err and message in err.strip().splitlines()[-1], err
    assert snapshot(workspace) == before
    assert not (workspace / "new").exists() and not (workspace / "outputs").exists()


def test_api_refuses_non_finite_input_and_foreign_files(workspace):
    torch.manual_seed(0)
    model = UCIP(preset("ucip-tiny"))
    model.add_prompts("avif")
    model.add_prompts("jxl")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    lr = torch.rand(1, 3, 8, 8)
    lr[0, 1, 2, 3] = float("inf")
    with pytest.raises(ValueError, match="1 NaN or infinite value"):
        model.upscale(lr, "jpeg")
    (workspace / "mine.safetensors").write_bytes(b"a user's file")
    before = snapshot(workspace)
    with pytest.raises(PromptPackError, match="not a ucip-adapt pack card"):
        model.save_prompts(workspace, "avif")  # the folder holds the user's README.md
    with pytest.raises(PromptPackError, match="not a prompt pack"):
        model.save_prompts(workspace / "mine.safetensors", "avif")
    assert snapshot(workspace) == before
    model.save_prompts(workspace / "packs", "avif")
    with pytest.raises(PromptPackError, match="holds the prompt pack 'avif', not 'jxl'"):
        model.save_prompts(workspace / "packs", "jxl")
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert not list(workspace.rglob("*.tmp"))


def test_small_and_odd_inputs_upscale_to_four_times_their_size():
    model = UCIP(preset("ucip-tiny")).eval()
    for height, width in [(1, 1), (1, 7), (3, 2), (9, 17)]:
        sr = model.upscale(torch.rand(1, 3, height, width), "jpeg")
        assert sr.shape == (1, 3, 4 * height, 4 * width) and torch.isfinite(sr).all()
        assert 0 <= float(sr.min()) and float(sr.max()) <= 1
    assert np.isfinite(sr.numpy()).all()


def test_ctrl_c_during_upscale_keeps_finished_files_and_says_what_is_left(workspace, backbone, capsys, monkeypatch):
    from ucip_adapt.upscale.engine import Upscaler

    for name in ("b.jpg", "c.jpg"):
        (workspace / name).write_bytes((workspace / "a.jpg").read_bytes())
    real, calls = Upscaler.upscale, []

    def interrupted_on_the_second_image(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Upscaler, "upscale", interrupted_on_the_second_image)
    argv = ["upscale", *(str(workspace / n) for n in ("a.jpg", "b.jpg", "c.jpg")), "-o", str(workspace / "out"),
            "--backbone", str(backbone), "--quiet", "--batch-size", "1"]
    assert cli_main(argv) == 130
    err = capsys.readouterr().err
    assert "Upscaled 1 file(s)" in err and "Interrupted: 2 file(s) not done. Run the same command again" in err
    assert sorted(p.name for p in (workspace / "out").iterdir()) == ["a.png"]  # finished, and no partial file
