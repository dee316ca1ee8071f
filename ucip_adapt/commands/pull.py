"""``ucip-adapt pull REPO_ID``: fetch a prompt pack or a backbone, check it, and say where it is.

Files resolve as ``load_prompts`` and ``from_pretrained`` resolve them: the Hub, else the local
Hub cache (``HF_HUB_OFFLINE=1`` works), else the copy bundled with ucip-adapt. A pack must read
as one; a backbone must load strictly. ``--local-dir`` also copies the files into a folder that
``load_prompts`` / ``from_pretrained`` accept as is. ``--list`` lists the packs of the repository.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path, PurePosixPath

from huggingface_hub.errors import HfHubHTTPError

from ..prompts.pack_file import DEFAULT_WEIGHT_NAME, read_pack


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pull",
        help="download and check a prompt pack or a backbone (or list the packs of a repository)",
        description=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("repo_id", help="Hub repository, 'namespace/name'")
    parser.add_argument("--subfolder", help="sub-folder of the pack in the repository")
    parser.add_argument("--weight-name", default=DEFAULT_WEIGHT_NAME, help=f"pack file name (default {DEFAULT_WEIGHT_NAME})")
    parser.add_argument("--revision", help="branch, tag or commit id to pin (default: latest of main)")
    parser.add_argument("--backbone", action="store_true", help="fetch a backbone (config.json + model.safetensors), not a pack")
    parser.add_argument("--local-dir", type=Path, help="also copy the files into this folder, keeping their paths in the repo")
    parser.add_argument("--list", action="store_true", help="list the prompt packs in the repository (needs the Hub)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.list:
            return _list(args)
        files = _pull_backbone(args) if args.backbone else _pull_pack(args)
    except HfHubHTTPError as exc:  # not found, unauthorized, ...: reported like the CLI's other errors
        raise ValueError(f"the Hub refused the download: {exc}") from exc
    for path_in_repo, local in files.items():
        if args.local_dir:
            target = args.local_dir / path_in_repo
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
            local = target
        print(f"{path_in_repo}: {local}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from ..prompts.sharing import list_repo_packs

    packs = list_repo_packs(args.repo_id, revision=args.revision)
    if not packs:
        print(f"{args.repo_id} holds no prompt pack.")
    for pack in packs:
        print(f"{pack.path_in_repo}: {_describe(pack.metadata)}")
    return 0


def _pull_pack(args: argparse.Namespace) -> dict[str, Path]:
    from ..hub import resolve_file

    path = resolve_file(args.repo_id, args.weight_name, subfolder=args.subfolder, revision=args.revision)
    print(_describe(read_pack(path).metadata))
    return {str(PurePosixPath(args.subfolder or "", args.weight_name)): path}


def _pull_backbone(args: argparse.Namespace) -> dict[str, Path]:
    from ..hub import resolve_folder
    from ..modeling.ucip import BACKBONE_FILES, UCIP

    folder = resolve_folder(args.repo_id, BACKBONE_FILES, revision=args.revision)
    model = UCIP.from_pretrained(folder)
    print(f"UCIP backbone, tasks {model.tasks}, {sum(t.numel() for t in model.backbone_state_dict().values()):,} parameters")
    return {name: folder / name for name in BACKBONE_FILES}


def _describe(metadata: dict) -> str:
    """One line about a pack: its codec, levels, base backbone and measured PSNR-Y."""
    after = (metadata.get("psnr_y") or {}).get("after")
    return (f"prompt pack {metadata.get('name', '?')!r} for codec {metadata.get('codec', '?')}, levels {metadata.get('levels', '?')}, "
            f"base {metadata.get('base_model') or 'unrecorded'}" + (f", PSNR-Y {after:.2f} dB" if after is not None else ""))
