"""Copies of the project's own Hub repositories that ship inside the package.

The default backbone and its prompt packs are published on the Hub as ``ucip-adapt/<name>`` and
also stored here as Hub-format folders, ``ucip_adapt/bundled/<name>/`` (``config.json`` +
``model.safetensors`` + ``README.md`` for a backbone, ``prompt_pack.safetensors`` + ``README.md`` for
a pack). :func:`ucip_adapt.hub.resolve_file` falls back to such a folder when the Hub cannot give
the repository (offline with nothing cached, no network, or no such repository), so a fresh
install works without network while users with network get the Hub copy.

:func:`register_bundled` maps further repo ids to folders (a site-wide mirror on disk, or a test).
This module must stay light: it is imported by every download, before torch is needed.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub.utils import validate_repo_id

BUNDLED_NAMESPACE = "ucip-adapt"
"""Hub namespace of the repositories whose copies live in this package folder."""

PACKAGE_FOLDER = Path(__file__).resolve().parent
"""Where the bundled Hub-format folders are: one sub-folder per repository, named like it."""

DEFAULT_BACKBONE_ID = f"{BUNDLED_NAMESPACE}/ucip-small-x4"
"""The backbone ``UCIP.from_pretrained()`` loads when given no id."""

_registered: dict[str, Path] = {}


def register_bundled(repo_id: str, folder: str | Path) -> None:
    """Serve ``repo_id`` from the local Hub-format ``folder`` whenever the Hub cannot give it.

    A registration takes precedence over the package's own folder of the same id. The folder is
    used as it is, at any revision the caller does not pin.
    """
    validate_repo_id(repo_id)
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"Cannot register {repo_id!r}: {folder} is not a folder (save a model or pack there first).")
    _registered[repo_id] = folder


def bundled_folder(repo_id: str) -> Path | None:
    """The local copy of ``repo_id``: a registered folder, else the package's own, else ``None``."""
    if repo_id in _registered:
        return _registered[repo_id]
    namespace, _, name = repo_id.partition("/")
    folder = PACKAGE_FOLDER / name
    if namespace == BUNDLED_NAMESPACE and name and not name.startswith(("_", ".")) and folder.is_dir():
        return folder
    return None


def bundled_repos() -> dict[str, Path]:
    """Every repo id with a local copy (the package's folders found on disk, then registrations)."""
    found = {
        f"{BUNDLED_NAMESPACE}/{folder.name}": folder
        for folder in sorted(PACKAGE_FOLDER.iterdir())
        if folder.is_dir() and not folder.name.startswith(("_", "."))
    }
    return {**found, **_registered}
