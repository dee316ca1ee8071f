"""``UCIP``: the user-facing model, a Hub-loadable network with named tasks and prompt packs.

(No ``from __future__ import annotations`` here: the Hub mixin reads the ``config`` annotation
at runtime to rebuild the dataclass from ``config.json``.)
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, Union

import torch
import torch.nn.functional as F
from huggingface_hub import ModelCard, PyTorchModelHubMixin, constants
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from ..atomic import atomic_path
from ..blind.estimator import ESTIMATOR_SUBFOLDER, CodecEstimator, load_estimator
from ..cards import backbone_card
from ..config import UCIPConfig
from ..bundled import DEFAULT_BACKBONE_ID
from ..hub import DOWNLOAD_KWARGS, resolve_file, resolve_folder
from ..prompts.loader import PromptPackMixin
from ..tensor_check import describe_mismatch
from .network import UCIPNetwork
from .routing import TaskRouting


TaskSpec = Union[str, int, Sequence[Union[str, int]], Tensor, None]
"""A task name or slot index for the whole batch, or one per sample; ``"auto"``: the estimator's choice."""

BACKBONE_FILES = (constants.CONFIG_NAME, constants.SAFETENSORS_SINGLE_FILE)
"""What a backbone repository must hold: ``config.json`` and ``model.safetensors``."""

PAD_MULTIPLE = 8
"""Inference pads inputs (reflect, bottom/right) to a multiple of this, as the release does."""

class UCIP(UCIPNetwork, PromptPackMixin, PyTorchModelHubMixin, library_name="ucip-adapt", tags=["super-resolution", "ucip"]):
    """Universal compressed-image x4 super-resolution network (UCIP, ECCV 2024).

    ``model(lr, task)`` maps LR images ``[B, 3, h, w]`` in [0, 1] to raw x4 outputs
    ``[B, 3, 4h, 4w]`` (unclamped, as the release); :meth:`upscale` adds padding and clamping.
    ``task`` is a backbone task name (``"jpeg"``), a slot index, the name of a loaded prompt
    pack, or one of those per sample, so one batch may mix codecs; ``"auto"`` lets the codec
    estimator choose per sample from the pixels (:meth:`resolve_auto`).
    """

    def __init__(self, config: Optional[UCIPConfig] = None) -> None:
        config = config if config is not None else UCIPConfig()
        super().__init__(config)
        self.config = config
        self.active_task: Optional[str] = None
        self.name_or_path: Optional[str] = None
        self._pack_metadata: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ tasks
    @property
    def tasks(self) -> list[str]:
        """The backbone's own task slots, in slot order."""
        return list(self.config.tasks)

    @property
    def pack_names(self) -> list[str]:
        """Names of the loaded prompt packs, in load order."""
        return list(self.stages[0].prompt.packs.keys())

    def resolve_task(self, task: Union[str, int]) -> Union[int, str]:
        """A slot index for a backbone task, the pack name for a pack; errors list the choices."""
        if isinstance(task, bool) or not isinstance(task, (str, int)):
            raise TypeError(f"A task is a name or a slot index, got {task!r} ({type(task).__name__})")
        if isinstance(task, int):
            if 0 <= task < len(self.config.tasks):
                return task
            raise IndexError(f"Task slot {task} does not exist; this backbone has slots 0..{len(self.config.tasks) - 1} ({self.tasks})")
        if task in self.config.tasks:
            return self.config.tasks.index(task)
        if task in self.pack_names:
            return task
        raise KeyError(
            f"Unknown task {task!r}. Backbone tasks: {self.tasks}; loaded prompt packs: {self.pack_names or 'none'}. "
            "Load a pack for a new codec with model.load_prompts(...)."
        )

    def route(self, task: TaskSpec, batch_size: int) -> TaskRouting:
        """Resolve ``task`` (one for the batch or one per sample) to a :class:`TaskRouting`."""
        if task is None:
            if self.active_task is None:
                raise ValueError(
                    f"No task given and none active: pass task=... (one of {self.tasks + self.pack_names}) "
                    "or select one with model.set_prompts(name)."
                )
            task = self.active_task
        if isinstance(task, Tensor):
            task = task.tolist()
        if isinstance(task, (str, int)):
            return TaskRouting((self.resolve_task(task),) * batch_size)
        tasks = list(task)
        if len(tasks) != batch_size:
            raise ValueError(f"Got {len(tasks)} tasks for a batch of {batch_size}; give one task or one per sample.")
        return TaskRouting(tuple(self.resolve_task(t) for t in tasks))

    # ------------------------------------------------------------ task="auto"
    def load_estimator(self, source: Union[str, Path, None] = None) -> CodecEstimator:
        """Load the codec estimator that ``task="auto"`` uses (done on first use if not called).

        ``source``: a backbone repository or folder with an ``estimator/`` sub-folder, or a folder
        written by ``CodecEstimator.save``; default: this backbone's own repository. The estimator
        is kept outside the module tree, so the backbone's weights stay the backbone's.
        """

        self.__dict__["estimator"] = load_estimator(source or self.name_or_path or DEFAULT_BACKBONE_ID)
        return self.__dict__["estimator"]

    def resolve_auto(self, lr: Tensor, task: TaskSpec) -> TaskSpec:
        """``task`` with each ``"auto"`` (for the batch or a sample) replaced by the task the
        estimator chooses from that sample's pixels, ``lr`` ``[B, 3, H, W]`` in [0, 1]."""
        from ..blind.routing import AUTO_TASK, AutoRouter

        per_sample = [task] * lr.shape[0] if isinstance(task, str) else task
        if not isinstance(per_sample, (list, tuple)) or AUTO_TASK not in per_sample:
            return task
        router = AutoRouter(self, self.__dict__.get("estimator") or self.load_estimator())
        return [router.choose(image).task if name == AUTO_TASK else name for name, image in zip(per_sample, lr)]

    # ---------------------------------------------------------------- forward
    def forward(self, lr: Tensor, task: TaskSpec = None) -> Tensor:
        if lr.dim() != 4 or lr.shape[1] != 3:
            raise ValueError(f"Expected LR images [B, 3, H, W], got shape {tuple(lr.shape)}")
        return self.forward_routed(lr, self.route(self.resolve_auto(lr, task), lr.shape[0]))

    @torch.inference_mode()
    def upscale(self, lr: Tensor, task: TaskSpec = None) -> Tensor:
        """Inference: mirror-pad to a multiple of 8 (as the release) and to at least the config's
        ``min_inference_side``, run, crop, clamp to [0, 1].

        Raises:
            ValueError: ``lr`` holds NaN or infinite values (one would spread to the whole output
                through the instance-norm statistics).
        """
        non_finite = lr.numel() - int(torch.isfinite(lr).sum())
        if non_finite:
            raise ValueError(f"The LR input holds {non_finite} NaN or infinite value(s) of {lr.numel()}; "
                             "replace them (e.g. torch.nan_to_num(lr).clamp(0, 1)) before upscaling.")
        task = self.resolve_auto(lr, task)  # on the picture itself, before padding
        sr = self(pad_for_inference(lr, self.config.min_inference_side), task)
        return crop_output(sr, lr.shape[-2:], self.config.scale)

    # ------------------------------------------------------- backbone weights
    def backbone_state_dict(self) -> dict[str, Tensor]:
        """The backbone's tensors: everything except loaded prompt packs."""
        return {name: t for name, t in self.state_dict().items() if ".prompt.packs." not in name}

    def load_backbone_state_dict(self, state: dict[str, Tensor]) -> None:
        """Load backbone weights strictly: a missing, unexpected or mis-shaped tensor is an error naming it."""
        expected = {name: t.shape for name, t in self.backbone_state_dict().items()}
        problem = describe_mismatch({name: t.shape for name, t in state.items()}, expected)
        if problem:
            raise ValueError(f"Weights do not fit this UCIP configuration ({problem}). "
                             "Check that config.json belongs to these weights.")
        self.load_state_dict(state, strict=False)

    # -------------------------------------------------------------------- Hub
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Union[str, Path] = DEFAULT_BACKBONE_ID, **kwargs: Any) -> "UCIP":
        """Load a backbone from a Hub repo id or a local folder written by ``save_pretrained``.

        With no argument, the default backbone ``ucip-adapt/ucip-small-x4``. A repo id resolves
        through the Hub, then its local cache, then the copy bundled with the package (see
        :mod:`ucip_adapt.hub`); ``config.json`` and the weights always come from one revision.
        Loading is strict: every weight of the configured network must be present with its shape,
        and nothing else may be in the file. Keyword arguments: ``revision``, ``token``,
        ``cache_dir``, ``local_files_only``, ``force_download``, ``map_location``.
        """
        download_kwargs = {key: kwargs.pop(key) for key in DOWNLOAD_KWARGS if key in kwargs}
        folder = resolve_folder(pretrained_model_name_or_path, BACKBONE_FILES, **download_kwargs)
        model = super().from_pretrained(folder, **kwargs)
        model.name_or_path = str(pretrained_model_name_or_path)
        return model

    @classmethod
    def _from_pretrained(
        cls, *, model_id: str, revision: Optional[str], cache_dir: Any, force_download: bool,
        local_files_only: bool, token: Any, map_location: str = "cpu", **model_kwargs: Any,
    ) -> "UCIP":
        model = cls(**model_kwargs)
        weights = resolve_file(
            model_id, constants.SAFETENSORS_SINGLE_FILE, revision=revision, cache_dir=cache_dir,
            force_download=force_download, local_files_only=local_files_only, token=token,
        )
        try:
            state = load_file(str(weights), device=map_location)
        except (SafetensorError, OSError) as exc:
            raise ValueError(f"Cannot read {weights} (truncated or corrupt safetensors file): {exc}") from exc
        model.to(map_location)
        model.load_backbone_state_dict(state)
        return model.eval()

    def _save_pretrained(self, save_directory: Path) -> None:
        with atomic_path(save_directory / constants.SAFETENSORS_SINGLE_FILE) as tmp:
            save_file({k: v.contiguous() for k, v in self.backbone_state_dict().items()}, str(tmp), metadata={"format": "pt"})
        estimator = self.__dict__.get("estimator")
        if estimator is not None:  # task="auto" finds it beside the backbone wherever the backbone goes
            estimator.save(save_directory / ESTIMATOR_SUBFOLDER)

    def push_to_hub(self, repo_id: str, **kwargs: Any) -> str:
        """Create the Hub repo ``repo_id`` if needed and upload config, weights and a model card in one commit,
        with the codec estimator in ``estimator/`` when one is loaded (:meth:`load_estimator`).

        Keyword arguments are the Hub mixin's (``private``, ``token``, ``branch``, ``create_pr``,
        ``commit_message``, ``model_card_kwargs``, ...). Returns the commit's URL.
        """
        card_kwargs = {"repo_id": repo_id, **(kwargs.pop("model_card_kwargs", None) or {})}
        return super().push_to_hub(repo_id, model_card_kwargs=card_kwargs, **kwargs)

    def generate_model_card(self, *args: Any, **kwargs: Any) -> ModelCard:
        """The backbone's card; ``model_card_kwargs={"extra_markdown": ...}`` appends a section."""
        num_params = sum(t.numel() for t in self.backbone_state_dict().values())
        return backbone_card(self.config, num_params, kwargs.get("extra_markdown", ""), repo_id=kwargs.get("repo_id"))


def inference_size(size: int, minimum: int) -> int:
    """The side an LR side of ``size`` pixels is padded to for inference: a multiple of
    ``PAD_MULTIPLE`` and at least ``minimum`` (the config's ``min_inference_side``)."""
    return max(minimum, size + (-size % PAD_MULTIPLE))


def pad_for_inference(lr: Tensor, minimum: int) -> Tensor:
    """Mirror-pad bottom/right to :func:`inference_size`, reflecting as often as needed; a side of
    one pixel is repeated once first."""
    target_h, target_w = inference_size(lr.shape[-2], minimum), inference_size(lr.shape[-1], minimum)
    if min(lr.shape[-2:]) == 1:
        lr = F.pad(lr, (0, int(lr.shape[-1] == 1), 0, int(lr.shape[-2] == 1)), mode="replicate")
    while lr.shape[-2] < target_h or lr.shape[-1] < target_w:
        pad_h = min(target_h - lr.shape[-2], lr.shape[-2] - 1)  # one reflection reaches size - 1 pixels
        pad_w = min(target_w - lr.shape[-1], lr.shape[-1] - 1)
        lr = F.pad(lr, (0, pad_w, 0, pad_h), mode="reflect")
    return lr


def crop_output(sr: Tensor, lr_size: Sequence[int], scale: int) -> Tensor:
    """The output of an LR input of ``lr_size`` (height, width) from the output of its input as
    padded by :func:`pad_for_inference`: the top-left ``scale`` times that size, clamped to [0, 1]
    (in place)."""
    height, width = lr_size
    return sr[..., : height * scale, : width * scale].clamp_(0, 1)
