"""Resolution and cards without any server: local paths first, clear errors, bundled registry, card metadata."""

from __future__ import annotations

import pytest
import torch
import yaml

from ucip_adapt import UCIP
from ucip_adapt.bundled import DEFAULT_BACKBONE_ID, bundled_folder, register_bundled
from ucip_adapt.cards import hub_model_id, pack_card
from ucip_adapt.cli import main as cli
from ucip_adapt.config import preset
from ucip_adapt.hub import resolve_file


def card_metadata(card) -> dict:
    return yaml.safe_load(str(card).split("---")[1])


def test_a_local_folder_named_like_a_repo_id_comes_first(tmp_path, monkeypatch):
    torch.manual_seed(0)
    UCIP(preset("ucip-tiny")).save_pretrained(tmp_path / DEFAULT_BACKBONE_ID)
    monkeypatch.chdir(tmp_path)
    model = UCIP.from_pretrained(DEFAULT_BACKBONE_ID)  # no server anywhere: the local folder answers
    assert model.name_or_path == DEFAULT_BACKBONE_ID and model.config.depths == [2, 2]


def test_missing_file_in_a_local_folder_names_what_is_there(tmp_path):
    (tmp_path / "avif").mkdir()
    (tmp_path / "avif" / "other.safetensors").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"no avif/prompt_pack\.safetensors; it holds \['avif/other\.safetensors'\]"):
        resolve_file(tmp_path, "prompt_pack.safetensors", subfolder="avif")
    with pytest.raises(FileNotFoundError, match="neither an existing file or folder nor a Hub repo id"):
        resolve_file(tmp_path / "nowhere" / "pack", "prompt_pack.safetensors")


def test_bundled_registry(tmp_path):
    assert bundled_folder("someone/elses-model") is None
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        register_bundled("ucip-test/registry", tmp_path / "missing")
    register_bundled("ucip-test/registry", tmp_path)
    assert bundled_folder("ucip-test/registry") == tmp_path.resolve()


def test_cards_name_only_hub_ids_as_base_model(tmp_path):
    assert hub_model_id("org/model") == "org/model"
    assert hub_model_id(str(tmp_path)) is None and hub_model_id(None) is None
    local = card_metadata(pack_card([(None, {"codec": "avif", "base_model": str(tmp_path)})]))
    assert "base_model" not in local and local["base_model_relation"] == "adapter" and "model-index" not in local
    hub = card_metadata(pack_card([(None, {"codec": "avif", "base_model": "org/model", "psnr_y": {"after": 30.0}})], "me/avif"))
    assert hub["base_model"] == "org/model" and hub["model-index"][0]["name"] == "me/avif"


def test_push_refuses_a_subfolder_for_a_backbone_before_any_upload(tmp_path, capsys):
    torch.manual_seed(0)
    UCIP(preset("ucip-tiny")).save_pretrained(tmp_path / "backbone")
    assert cli(["push", str(tmp_path / "backbone"), "me/backbone", "--subfolder", "x"]) == 2
    assert "--subfolder is for prompt packs" in capsys.readouterr().err
