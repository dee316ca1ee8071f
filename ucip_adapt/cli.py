"""``ucip-adapt``: the package's one command-line entry point, with subcommands.

Each subcommand lives in ``ucip_adapt/commands/<name>.py`` and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to the function that runs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from .errors import run_reporting_errors

COMMANDS = ["convert_official", "demo", "push", "pull", "upscale"]
"""Modules under ``ucip_adapt.commands``, one per subcommand."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ucip-adapt", description="Compressed-image x4 super-resolution with UCIP and prompt packs.")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error (default: one line)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        import_module(f"ucip_adapt.commands.{name}").register(subparsers)
    for subparser in subparsers.choices.values():  # `ucip-adapt upscale ... --debug` works too
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="print the traceback of an error")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_reporting_errors(f"ucip-adapt {args.command}", lambda: args.func(args), args.debug)


if __name__ == "__main__":
    sys.exit(main())
