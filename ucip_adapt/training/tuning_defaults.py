"""The defaults of ``recipes/tune_prompts.py``, which follow the data it tunes on.

A few photographs (the embedded scikit-image photos of the quick start) and a folder of hundreds
(the training pool the shipped packs were tuned on) want different settings: on a few photos a
large prompt step follows the noise of the crops and only loses, on hundreds it is what gains.
Every setting given on the command line wins over both; docs/results/pack-settings.md holds the runs
that chose these numbers.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

METHOD_LEARNING_RATES = {"lora": 1e-3, "full": 2e-4}
"""The comparison methods' rates, whatever the data: LoRA's usual rate, and the release's rate for
the full network."""


@dataclass(frozen=True)
class TuningDefaults:
    """Steps, LR crop size, validation interval and prompt learning rate of one kind of data."""

    steps: int
    patch_size: int
    eval_every: int
    prompt_lr: float

    def learning_rate(self, method: str) -> float:
        """The rate ``method`` trains at when ``--lr`` is not given."""
        return self.prompt_lr if method == "prompt" else METHOD_LEARNING_RATES[method]


EMBEDDED_PHOTOS = TuningDefaults(steps=100, patch_size=96, eval_every=50, prompt_lr=2e-4)
"""No ``--data``: 6 training photos. At 2e-4 the prompts rose at every validation, at 2e-3 and 1e-2
they only fell; 100 steps keep the quick start under six minutes on two cores."""

OWN_DATA = TuningDefaults(steps=300, patch_size=112, eval_every=100, prompt_lr=2e-3)
"""``--data`` given: the shipped packs' settings on the 538-photo pool. 2e-3 gained more than 2e-4,
112-pixel crops more than 80-pixel ones (which see four times the photos); three of the five codecs
peaked at step 200 and the other two rose by about 0.002 dB per 100 steps at the end."""


def fill_data_dependent_flags(args: argparse.Namespace) -> TuningDefaults:
    """Fill ``--steps``, ``--patch-size``, ``--eval-every`` and ``--lr`` where the user left them
    out (None) from the defaults of the data (``args.data``), and return those defaults."""
    defaults = EMBEDDED_PHOTOS if args.data is None else OWN_DATA
    args.steps = args.steps if args.steps is not None else defaults.steps
    args.patch_size = args.patch_size if args.patch_size is not None else [defaults.patch_size]
    args.eval_every = args.eval_every if args.eval_every is not None else defaults.eval_every
    args.lr = args.lr if args.lr is not None else defaults.learning_rate(args.method)
    return defaults
