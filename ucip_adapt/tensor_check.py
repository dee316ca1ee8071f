"""The strict check of a set of named tensors against the names and shapes a network expects.

Loading a backbone, loading a prompt pack and converting a release checkpoint all refuse weights
that do not fit; `describe_mismatch` words what is wrong the same way for the three, naming the
tensors, so that the caller only adds what was being loaded and what to check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

SHOWN = 8
"""How many names of each kind (missing, unexpected, mis-shaped) an error lists."""


def describe_mismatch(got: Mapping[str, Sequence[int]], expected: Mapping[str, Sequence[int]]) -> str | None:
    """What keeps ``got`` (name -> shape) from fitting ``expected``, or None when every name and
    shape match: ``"missing 1: a | unexpected 2: b, c | mis-shaped 1: d: file (4,) vs model (3,)"``,
    each kind counted, its first `SHOWN` names listed, absent kinds left out."""
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    mis_shaped = [
        f"{name}: file {tuple(got[name])} vs model {tuple(expected[name])}"
        for name in expected
        if name in got and tuple(got[name]) != tuple(expected[name])
    ]
    parts = []
    if missing:
        parts.append(f"missing {len(missing)}: {', '.join(missing[:SHOWN])}")
    if unexpected:
        parts.append(f"unexpected {len(unexpected)}: {', '.join(unexpected[:SHOWN])}")
    if mis_shaped:
        parts.append(f"mis-shaped {len(mis_shaped)}: {'; '.join(mis_shaped[:SHOWN])}")
    return " | ".join(parts) or None
