"""Argument types for the command-line flags of ``ucip-adapt`` and the recipes.

A count that makes no sense (``--threads 0``, ``--steps -5``) is refused by argparse when the
command line is read, with the flag's name and the accepted range, before any data is touched.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def integer_in(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` accepting whole numbers from ``minimum`` to ``maximum`` (no bound if None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    return parse


positive_int = integer_in(1)
non_negative_int = integer_in(0)
