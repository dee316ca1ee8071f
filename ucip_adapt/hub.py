"""Where model and pack files come from: a local path, the Hub (or its local cache), or a bundled copy.

Order of resolution for a ``source`` (see ``docs/sharing.md``):

1. An existing local file or folder is used as it is; nothing is downloaded.
2. Otherwise ``source`` is a Hub repo id, fetched with ``huggingface_hub.snapshot_download``
   (only the files asked for). With network the Hub copy is used, so updates arrive; offline
   (``HF_HUB_OFFLINE=1``, ``local_files_only=True``) or when the Hub cannot be reached, the
   local Hub cache answers. ``HF_ENDPOINT``, ``HF_HOME``, tokens and revisions behave as everywhere
   else in the ecosystem.
3. When step 2 has nothing -- offline or unreachable with nothing cached, or the repository does
   not exist on that endpoint (e.g. not published yet, or a mirror without it) -- the copy bundled
   with the package (:mod:`ucip_adapt.bundled`) is used, if there is one for that id. Not when a
   revision is pinned (the bundled copy may be another revision), and not when the repository
   exists but lacks the file: a reachable Hub repository is authoritative, and mixing its files
   with another copy's would be wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from huggingface_hub import constants, snapshot_download
from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError, RepositoryNotFoundError
from huggingface_hub.utils import validate_repo_id

from .bundled import bundled_folder

logger = logging.getLogger(__name__)

DOWNLOAD_KWARGS = ("revision", "token", "cache_dir", "local_files_only", "force_download")
"""Keyword arguments that select and authorize a Hub download, passed through to ``huggingface_hub``."""

UNPINNED_REVISIONS = (None, constants.DEFAULT_REVISION)
"""Revisions that mean "the latest", which a bundled copy may stand in for."""


def resolve_file(source: str | Path, filename: str, *, subfolder: str | None = None, **download_kwargs: Any) -> Path:
    """Local path of ``filename`` in ``source``, following the order of resolution above.

    ``source`` is a file (returned as is), a local folder (``subfolder``/``filename`` inside it) or
    a Hub repo id. ``download_kwargs`` (``revision``, ``token``, ``cache_dir``,
    ``local_files_only``, ``force_download``) go to ``snapshot_download``.
    """
    if Path(source).is_file():
        return Path(source)
    path_in_repo = str(PurePosixPath(subfolder or "", filename))
    return resolve_folder(source, [path_in_repo], **download_kwargs) / path_in_repo


def resolve_folder(source: str | Path, files: Sequence[str], **download_kwargs: Any) -> Path:
    """A local folder holding ``files`` (paths relative to the repository root), all of one revision.

    Used for a backbone (``config.json`` and ``model.safetensors`` must come from the same commit).
    Raises ``FileNotFoundError`` naming the missing files, or the ``huggingface_hub`` error
    (``RepositoryNotFoundError``, ``RevisionNotFoundError``, ``LocalEntryNotFoundError``) when
    neither the Hub, the cache nor a bundled copy can give the repository.
    """
    if Path(source).is_dir():
        return _require_files(Path(source), files, f"The folder {source}", list_contents=True)
    repo_id = _as_repo_id(source)
    revision = download_kwargs.get("revision")
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=list(files), **download_kwargs))
    except (LocalEntryNotFoundError, RepositoryNotFoundError) as exc:
        bundled = bundled_folder(repo_id)
        if bundled is None or revision not in UNPINNED_REVISIONS:
            raise
        if isinstance(exc, RepositoryNotFoundError):  # online, so say it: a token or endpoint may be wrong
            logger.warning("%s is not on %s (or not visible with this token); using its bundled copy %s", repo_id, constants.ENDPOINT, bundled)
        else:
            logger.info("%s is not reachable and not cached; using its bundled copy %s", repo_id, bundled)
        return _require_files(bundled, files, f"The bundled copy of {repo_id} ({bundled})", list_contents=True)
    return _require_files(folder, files, f"The Hub repository {repo_id} at revision {revision or constants.DEFAULT_REVISION}", list_contents=False)


def _as_repo_id(source: str | Path) -> str:
    try:
        validate_repo_id(str(source))
    except HFValidationError:
        raise FileNotFoundError(f"{source} is neither an existing file or folder nor a Hub repo id ('namespace/name').") from None
    return str(source)


def _require_files(folder: Path, files: Sequence[str], where: str, *, list_contents: bool) -> Path:
    """``folder`` if it holds every one of ``files``, else a ``FileNotFoundError`` that says what is there."""
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        held = ""
        if list_contents:
            present = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
            held = f"; it holds {present or 'nothing'}"
        raise FileNotFoundError(
            f"{where} has no {', '.join(missing)}{held}. Pass weight_name=/subfolder= to pick another file "
            "(`ucip-adapt pull REPO --list` lists the prompt packs of a Hub repository)."
        )
    return folder
