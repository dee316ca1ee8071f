"""``ucip-adapt push SOURCE REPO_ID``: publish a prompt pack or a backbone on the Hub.

SOURCE is a pack file, a folder holding one (as ``save_prompts`` writes it), or a backbone folder
(``config.json`` + ``model.safetensors``, as ``save_pretrained`` writes it, with its codec estimator
in ``estimator/`` if it has one). Both are checked before anything is uploaded (a pack must read as
one, and is then uploaded byte for byte; a backbone and its estimator must load strictly). The repo is
created if needed and gets a generated model card. The token is the usual one (``hf auth login``
or ``HF_TOKEN``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from huggingface_hub import constants
from huggingface_hub.errors import HfHubHTTPError

from ..blind.estimator import ESTIMATOR_SUBFOLDER
from ..prompts.pack_file import DEFAULT_WEIGHT_NAME


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "push",
        help="upload a prompt pack or a backbone to a Hub repository, with a model card",
        description=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("source", type=Path, help="pack file, pack folder, or backbone folder")
    parser.add_argument("repo_id", help="Hub repository, 'namespace/name' (created if missing)")
    parser.add_argument("--subfolder", help="put the pack in this sub-folder (several packs in one repo)")
    parser.add_argument("--weight-name", default=DEFAULT_WEIGHT_NAME, help=f"pack file name, in a source folder and in the repo (default {DEFAULT_WEIGHT_NAME})")
    parser.add_argument("--private", action="store_true", default=None, help="create the repository as private")
    parser.add_argument("--branch", help="commit to this existing branch instead of main")
    parser.add_argument("--commit-message", help="message of the commit")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    source: Path = args.source
    try:
        if (source / constants.CONFIG_NAME).is_file():
            if args.subfolder:
                raise ValueError("--subfolder is for prompt packs; a backbone goes to the root of its repository.")
            url = _push_backbone(source, args)
            what = "backbone"
        else:
            url = _push_pack(source, args)
            what = "prompt pack"
    except HfHubHTTPError as exc:  # not found, unauthorized, ...: reported like the CLI's other errors
        raise ValueError(f"the Hub refused the upload: {exc}") from exc
    print(f"Pushed {what} {source} -> {url}")
    return 0


def _push_backbone(folder: Path, args: argparse.Namespace) -> str:
    from ..modeling.ucip import UCIP

    model = UCIP.from_pretrained(folder)
    if (folder / ESTIMATOR_SUBFOLDER).is_dir():
        model.load_estimator(folder)
    return model.push_to_hub(args.repo_id, private=args.private, branch=args.branch,
                             commit_message=args.commit_message or "Upload UCIP backbone with ucip-adapt")


def _push_pack(source: Path, args: argparse.Namespace) -> str:
    from ..prompts.sharing import push_pack

    file = source / args.weight_name if source.is_dir() else source
    return push_pack(file, args.repo_id, subfolder=args.subfolder, weight_name=args.weight_name,
                     private=args.private, revision=args.branch, commit_message=args.commit_message)
