"""Where model and pack files come from: a local file, a local folder, or a Hub repository.

Downloads go through ``huggingface_hub`` so the cache, ``HF_HUB_OFFLINE``, ``HF_ENDPOINT``,
``HF_HOME``, tokens and revisions behave as everywhere else in the ecosystem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import hf_hub_download
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id


def resolve_file(source: str | Path, filename: str, *, subfolder: str | None = None, **download_kwargs: Any) -> Path:
    """Local path of ``filename`` in ``source``.

    ``source`` is a file (returned as is), a local folder (``subfolder``/``filename`` inside it), or
    a Hub repo id, downloaded with ``hf_hub_download`` (``revision``, ``token``, ``cache_dir``,
    ``local_files_only``, ``force_download`` are passed through).
    """
    path = Path(source)
    if path.is_file():
        return path
    if path.is_dir():
        candidate = path / (subfolder or "") / filename
        if not candidate.is_file():
            present = sorted(p.name for p in candidate.parent.glob("*")) if candidate.parent.is_dir() else []
            raise FileNotFoundError(f"{candidate} does not exist; the folder holds {present or 'nothing'}. Pass weight_name=/subfolder= to pick the file.")
        return candidate
    try:
        validate_repo_id(str(source))
    except HFValidationError:
        raise FileNotFoundError(f"{source} is neither an existing file or folder nor a Hub repo id ('namespace/name').") from None
    return Path(hf_hub_download(repo_id=str(source), filename=filename, subfolder=subfolder, **download_kwargs))
