"""Prompt packs on the Hub: push a pack with its model card, and list the packs of a repository.

A repository holds one pack at its root, or several in sub-folders (``avif/prompt_pack.safetensors``,
``jxl/prompt_pack.safetensors``, ...). Downloading is not here: ``UCIP.load_prompts`` resolves a
pack like any other file (:func:`ucip_adapt.hub.resolve_file`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from huggingface_hub import CommitInfo, HfApi

from ..atomic import atomic_write_text
from ..cards import pack_card
from .pack_file import DEFAULT_WEIGHT_NAME, METADATA_KEY, PromptPack, PromptPackError, read_pack, write_pack


@dataclass(frozen=True)
class RepoPack:
    """A prompt pack found in a Hub repository: where it is, and the metadata in its header."""

    path_in_repo: str
    metadata: dict[str, Any]

    @property
    def subfolder(self) -> str | None:
        """The ``subfolder=`` to pass to ``load_prompts`` (``None`` at the repository root)."""
        parent = str(PurePosixPath(self.path_in_repo).parent)
        return None if parent == "." else parent

    @property
    def weight_name(self) -> str:
        """The ``weight_name=`` to pass to ``load_prompts``."""
        return PurePosixPath(self.path_in_repo).name


def list_repo_packs(repo_id: str, *, revision: str | None = None, token: str | bool | None = None) -> list[RepoPack]:
    """Every prompt pack in the Hub repository ``repo_id``, in path order.

    A pack is a ``*.safetensors`` file whose header carries pack metadata; only the headers are
    fetched (HTTP range requests), never the tensors. This asks the Hub, so it needs the network.
    """
    api = HfApi(token=token)
    packs = []
    for path in sorted(api.list_repo_files(repo_id, revision=revision)):
        if not path.endswith(".safetensors"):
            continue
        header = api.parse_safetensors_file_metadata(repo_id, path, revision=revision).metadata
        if METADATA_KEY not in header:
            continue
        try:
            packs.append(RepoPack(path, json.loads(header[METADATA_KEY])))
        except json.JSONDecodeError as exc:
            raise PromptPackError(f"{repo_id}/{path}: the pack metadata in its header is not valid JSON: {exc}") from exc
    return packs


def push_pack(
    pack: PromptPack | str | Path,
    repo_id: str,
    *,
    subfolder: str | None = None,
    weight_name: str = DEFAULT_WEIGHT_NAME,
    private: bool | None = None,
    token: str | bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    create_pr: bool = False,
) -> CommitInfo:
    """Upload ``pack`` to the Hub repository ``repo_id`` (created if missing), with a model card.

    ``pack`` is a :class:`PromptPack` (written out) or a pack file, uploaded byte for byte once it
    has read as a valid pack (safetensors does not write its header in a fixed order, so
    rewriting a file would change its bytes). Nothing is created on the Hub for a file that fails.

    Without ``subfolder`` the repository is this pack: ``weight_name`` and ``README.md`` at its
    root. With one, the pack and its own card go into ``subfolder/`` and the root ``README.md`` is
    regenerated to describe every pack of the repository (it is the card the Hub indexes). All
    files go in one commit, to branch ``revision`` (default ``main``), or to a new pull request
    with ``create_pr=True``. Returns the commit's info (a ``str``: its URL).
    """
    path_in_repo = str(PurePosixPath(subfolder or "", weight_name))
    with tempfile.TemporaryDirectory(prefix="ucip-push-") as tmp:
        staged = Path(tmp)
        (staged / path_in_repo).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(pack, PromptPack):
            write_pack(staged / path_in_repo, pack)
            metadata = pack.metadata
        else:
            metadata = read_pack(pack).metadata
            shutil.copyfile(pack, staged / path_in_repo)
        api = HfApi(token=token)
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
        atomic_write_text(staged / (subfolder or "") / "README.md", str(pack_card([(subfolder, metadata)], repo_id)))
        if subfolder:
            others = [(p.subfolder, p.metadata) for p in list_repo_packs(repo_id, revision=revision, token=token) if p.path_in_repo != path_in_repo]
            every_pack = sorted([*others, (subfolder, metadata)], key=lambda entry: entry[0] or "")
            atomic_write_text(staged / "README.md", str(pack_card(every_pack, repo_id)))
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=staged,
            commit_message=commit_message or f"Upload {metadata.get('codec', 'prompt')} pack to {path_in_repo} with ucip-adapt",
            revision=revision,
            create_pr=create_pr,
        )
