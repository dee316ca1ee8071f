"""A new backbone started from a trained one of the same body: new task slots, a new output path.

Universal training adds what an earlier backbone lacks without forgetting what it learned: task
slots it did not have (their basic prompts copied from a related task it has) and the image-space
anchor (the body kept, the last convolution set to zero so that the start outputs bicubic, which
the anchored network then refines).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..config import UCIPConfig
from .ucip import UCIP


def body_architecture(config: UCIPConfig) -> dict:
    """The shapes that must match for weights to carry over: all but the task count and the anchor."""
    arch = config.architecture()
    arch.pop("num_tasks")
    arch.pop("anchor", None)
    return arch


def warm_start(source: UCIP, config: UCIPConfig, new_task_init: Mapping[str, str]) -> UCIP:
    """A ``UCIP(config)`` holding ``source``'s weights.

    Args:
        source: the trained backbone.
        config: the new backbone's configuration: the same body, any task slots, an anchor if
            ``source`` has none (an anchored source stays anchored).
        new_task_init: for each task of ``config`` that ``source`` lacks, the ``source`` task whose
            basic prompts it starts from (e.g. ``{"clean": "webp"}``).

    Raises:
        ValueError: naming what does not fit (body shapes, a task with no start, dropping the anchor).
    """
    if body_architecture(config) != body_architecture(source.config):
        raise ValueError(f"the new backbone's body {body_architecture(config)} differs from the source's "
                         f"{body_architecture(source.config)}; only task slots and the anchor may change")
    if source.config.anchor is not None and config.anchor != source.config.anchor:
        raise ValueError(f"the source is anchored ({source.config.anchor}); a warm start keeps its anchor")
    slots = []
    for task in config.tasks:
        origin = task if task in source.tasks else new_task_init.get(task)
        if origin not in source.tasks:
            raise ValueError(f"task {task!r} is not in the source ({', '.join(source.tasks)}): name the source task it "
                             f"starts from, e.g. {task}={source.tasks[-1]}")
        slots.append(source.tasks.index(origin))
    model = UCIP(config)
    state = source.backbone_state_dict()
    for name, tensor in list(state.items()):
        if name.endswith(".prompt.bank"):
            state[name] = tensor[slots].clone()
    model.load_backbone_state_dict(state)
    if config.anchor is not None and source.config.anchor is None:
        with torch.no_grad():
            for tensor in (model.upsampler.conv_out.weight, model.upsampler.conv_out.bias):
                nn.init.zeros_(tensor)
    return model
