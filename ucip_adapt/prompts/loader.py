"""The prompt-pack API of :class:`~ucip_adapt.UCIP`, shaped after diffusers' adapter loaders.

``load_prompts`` / ``set_prompts`` / ``unload_prompts`` / ``list_prompts`` / ``save_prompts`` /
``push_prompts_to_hub`` manage named packs; ``add_prompts`` and ``train_only_prompts`` create a new task for training.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import CommitInfo
from torch import Tensor, nn

from ..cards import LIBRARY_NAME, write_pack_card
from ..hub import resolve_file
from ..tensor_check import describe_mismatch
from .fingerprint import config_fingerprint, weights_fingerprint
from .pack_file import DEFAULT_WEIGHT_NAME, PromptPack, PromptPackError, read_pack, refuse_to_replace, write_pack
from .sharing import push_pack


class PromptPackMixin:
    """Adds named prompt packs to a UCIP network (``self.stages``, ``self.config``, ...)."""

    stages: nn.ModuleList
    active_task: str | None
    name_or_path: str | None
    _pack_metadata: dict[str, dict[str, Any]]

    # ---------------------------------------------------------------- create
    def add_prompts(
        self, name: str, *, init_from: str | int | None = None, num_prompts: int | None = None, metadata: Mapping[str, Any] | None = None
    ) -> None:
        """Add a new, trainable task ``name`` to every stage.

        Args:
            name: the new task's name (e.g. the codec, ``"avif"``).
            init_from: a backbone task whose basic prompts to start from (a warm start), or
                ``None`` for fresh U[0,1) prompts. The coefficient heads start as the shared head.
            num_prompts: basic prompts per stage, at least the backbone's (its default); more gives
                the pack more room, and a warm start still begins exactly at ``init_from``.
            metadata: initial pack metadata (codec, levels, ...), completed when saving.
        """
        self._check_new_name(name)
        slot = None if init_from is None else self.resolve_task(init_from)
        if isinstance(slot, str):
            raise ValueError(f"init_from must be a backbone task ({self.tasks}), not the pack {slot!r}")
        for stage in self.stages:
            stage.prompt.add_pack(name, slot, num_prompts)
        self._pack_metadata[name] = {"name": name, "codec": name, **(metadata or {})}

    def train_only_prompts(self, name: str) -> list[nn.Parameter]:
        """Freeze everything except pack ``name``'s basic prompts and coefficient heads; return those."""
        if name not in self.pack_names:
            raise KeyError(f"No prompt pack {name!r}; loaded: {self.pack_names}. Create one with add_prompts({name!r}).")
        self.requires_grad_(False)
        params = [p for stage in self.stages for p in stage.prompt.packs[name].parameters()]
        for p in params:
            p.requires_grad_(True)
        return params

    # ------------------------------------------------------------------- I/O
    def prompt_state_dict(self, name: str) -> dict[str, Tensor]:
        """Pack ``name``'s tensors keyed as in a pack file."""
        if name not in self.pack_names:
            raise KeyError(f"No prompt pack {name!r}; loaded: {self.pack_names}")
        marker = f".prompt.packs.{name}."
        return {key.replace(marker, ".prompt.packs."): t for key, t in self.state_dict().items() if marker in key}

    def backbone_fingerprint(self) -> dict[str, str]:
        """SHA-256 of this backbone's architecture and weights, as recorded in the packs it makes."""
        return {"config": config_fingerprint(self.config), "weights": weights_fingerprint(self.backbone_state_dict())}

    def get_prompt_pack(self, name: str, metadata: Mapping[str, Any] | None = None) -> PromptPack:
        """Pack ``name`` with its metadata completed: base model, fingerprint and shapes. A recorded
        ``evaluation`` is kept only while the pack's weights are the ones it scored."""
        tensors = self.prompt_state_dict(name)
        known = {**self._pack_metadata[name], **(metadata or {})}
        evaluation = known.get("evaluation")
        if not isinstance(evaluation, Mapping) or evaluation.get("weights_sha256") != weights_fingerprint(tensors):
            known.pop("evaluation", None)
        full = {
            **known,
            "base_model": self.name_or_path,
            "base_fingerprint": self.backbone_fingerprint(),
            "shapes": self._pack_dimensions(_num_prompts(tensors)),
            "num_parameters": sum(t.numel() for t in tensors.values()),
        }
        return PromptPack(tensors, full)

    def save_prompts(
        self, save_path: str | Path, adapter_name: str, *, weight_name: str = DEFAULT_WEIGHT_NAME, metadata: Mapping[str, Any] | None = None
    ) -> Path:
        """Write pack ``adapter_name`` atomically.

        ``save_path`` ending in ``.safetensors`` is the file itself; otherwise it is a folder that
        receives ``weight_name`` and a model card (``README.md``). Returns the file path. An earlier
        save of the same pack is replaced; another pack, or a file ``ucip-adapt`` did not write
        (a README of your own, say), is not: PromptPackError before anything is written.
        """
        pack = self.get_prompt_pack(adapter_name, metadata)
        save_path = Path(save_path)
        file = save_path if save_path.suffix == ".safetensors" else save_path / weight_name
        refuse_to_replace(file, pack.metadata["name"])
        if save_path.suffix == ".safetensors":
            return write_pack(file, pack)
        card = save_path / "README.md"
        if card.exists() and LIBRARY_NAME not in card.read_text(encoding="utf-8", errors="replace"):
            raise PromptPackError(f"{card} exists and is not a ucip-adapt pack card; it is not replaced. "
                                  "Save the pack into another folder, or to a .safetensors file path.")
        write_pack(file, pack)
        write_pack_card(save_path, pack.metadata)
        return file

    def push_prompts_to_hub(
        self, repo_id: str, adapter_name: str, *, metadata: Mapping[str, Any] | None = None, **push_kwargs: Any
    ) -> CommitInfo:
        """Upload pack ``adapter_name`` with a generated model card to the Hub repo ``repo_id`` (created if needed).

        ``push_kwargs``: ``subfolder`` (several packs in one repo), ``weight_name``, ``private``,
        ``token``, ``revision`` (branch), ``commit_message``, ``create_pr``; see
        :func:`~ucip_adapt.prompts.sharing.push_pack`. Returns the commit's info.
        """
        return push_pack(self.get_prompt_pack(adapter_name, metadata), repo_id, **push_kwargs)

    def load_prompts(
        self,
        source: str | Path | Mapping[str, Tensor] | PromptPack,
        *,
        adapter_name: str | None = None,
        weight_name: str = DEFAULT_WEIGHT_NAME,
        subfolder: str | None = None,
        **download_kwargs: Any,
    ) -> str:
        """Load a prompt pack as a new task and return its name.

        Args:
            source: a pack file, a folder holding one, a Hub repo id, a state dict keyed as a pack
                file, or a :class:`PromptPack`.
            adapter_name: the task name to use; default: the name recorded in the pack.
            weight_name, subfolder: which file of a folder or repo (several packs may share one).
            download_kwargs: ``revision``, ``token``, ``cache_dir``, ``local_files_only``,
                ``force_download`` for Hub ids, which resolve through the Hub, its local cache,
                then a bundled copy (see :mod:`ucip_adapt.hub`).

        Raises:
            PromptPackError: the pack was made for another backbone (config or weights differ)
                or its tensors do not fit; the model is left unchanged.
        """
        if isinstance(source, PromptPack):
            pack = source
        elif isinstance(source, Mapping):
            pack = PromptPack(dict(source), {})
        else:
            pack = read_pack(resolve_file(source, weight_name, subfolder=subfolder, **download_kwargs))
        name = adapter_name or pack.metadata.get("name") or pack.metadata.get("codec")
        if not name:
            raise ValueError("This pack records no name: pass adapter_name=... to name the new task.")
        self._check_new_name(name)
        self._check_pack_fits(pack, origin=str(source) if not isinstance(source, Mapping) else "state dict")
        for stage in self.stages:
            stage.prompt.add_pack(name, num_prompts=_num_prompts(pack.tensors))
        marker_in, marker_out = ".prompt.packs.", f".prompt.packs.{name}."
        state = {key.replace(marker_in, marker_out): t for key, t in pack.tensors.items()}
        self.load_state_dict(state, strict=False)
        self._pack_metadata[name] = {**pack.metadata, "name": name}
        return name

    # -------------------------------------------------------------- selection
    def set_prompts(self, name: str | None) -> None:
        """Make ``name`` (a pack or a backbone task) the task used when ``forward`` gets none."""
        if name is not None:
            self.resolve_task(name)
        self.active_task = name

    def unload_prompts(self, name: str | None = None) -> None:
        """Remove pack ``name``, or every pack when ``name`` is None."""
        names = self.pack_names if name is None else [name]
        for pack_name in names:
            if pack_name not in self.pack_names:
                raise KeyError(f"No prompt pack {pack_name!r} is loaded; loaded: {self.pack_names}")
            for stage in self.stages:
                del stage.prompt.packs[pack_name]
            del self._pack_metadata[pack_name]
            if self.active_task == pack_name:
                self.active_task = None

    def list_prompts(self) -> dict[str, dict[str, Any]]:
        """Loaded packs by name, with their metadata (codec, levels, base model, metrics ...)."""
        return {name: dict(self._pack_metadata[name]) for name in self.pack_names}

    # ------------------------------------------------------------- checking
    def _pack_dimensions(self, num_prompts: int) -> dict[str, int]:
        """The sizes a pack's tensors follow, recorded in its metadata as ``shapes``: the backbone's and the pack's own ``num_prompts``."""
        return {
            "num_stages": self.config.num_stages,
            "num_prompts": num_prompts,
            "prompt_dim": self.config.prompt_dim,
            "embed_dim": self.config.embed_dim,
        }

    def _check_new_name(self, name: str) -> None:
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"A pack name must be a non-empty string without dots, got {name!r}")
        if name in self.tasks:
            raise ValueError(f"{name!r} is a task of the backbone itself; give the pack another adapter_name.")
        if name in self.pack_names:
            raise ValueError(f"A prompt pack named {name!r} is already loaded; unload_prompts({name!r}) first or pick another adapter_name.")

    def _check_pack_fits(self, pack: PromptPack, origin: str) -> None:
        """Refuse, before touching the model, a pack tuned on another backbone or of the wrong shape."""
        recorded = pack.metadata.get("base_fingerprint")
        if recorded:
            ours = self.backbone_fingerprint()
            for part in ("config", "weights"):
                if recorded.get(part) != ours[part]:
                    raise PromptPackError(
                        f"The prompt pack {origin} was tuned on another backbone ({pack.metadata.get('base_model')!r}, "
                        f"{part} fingerprint {str(recorded.get(part))[:12]}...) but this model is {self.name_or_path!r} "
                        f"({part} fingerprint {ours[part][:12]}...). A pack only works on the exact backbone it was tuned on: "
                        "load that backbone, or tune a pack for this one with recipes/tune_prompts.py --backbone ..."
                    )
        num_prompts = max(_num_prompts(pack.tensors), self.config.num_prompts)  # fewer, or no bank: the mismatch names it
        expected = _pack_tensor_shapes(self, num_prompts)
        problem = describe_mismatch({key: t.shape for key, t in pack.tensors.items()}, expected)
        if problem:
            raise PromptPackError(f"The prompt pack {origin} does not fit this backbone ({self._pack_dimensions(num_prompts)}): {problem}.")


def _num_prompts(tensors: Mapping[str, Tensor]) -> int:
    """A pack's basic prompts per stage, read off its first bank; 0 when it has none."""
    bank = tensors.get("stages.0.prompt.packs.bank")
    return int(bank.shape[0]) if bank is not None and bank.ndim == 2 else 0


def _pack_tensor_shapes(model: PromptPackMixin, num_prompts: int) -> dict[str, torch.Size]:
    """File keys and shapes of a pack of ``num_prompts`` basic prompts for ``model``: a bank and a coefficient head per stage."""
    shapes = {}
    for i, stage in enumerate(model.stages):
        dim, prompt_dim = stage.prompt.dim, stage.prompt.prompt_dim
        shapes[f"stages.{i}.prompt.packs.bank"] = torch.Size([num_prompts, prompt_dim])
        shapes[f"stages.{i}.prompt.packs.coef_head.fc1.weight"] = torch.Size([num_prompts, dim])
        shapes[f"stages.{i}.prompt.packs.coef_head.fc1.bias"] = torch.Size([num_prompts])
        shapes[f"stages.{i}.prompt.packs.coef_head.fc2.weight"] = torch.Size([num_prompts, num_prompts])
        shapes[f"stages.{i}.prompt.packs.coef_head.fc2.bias"] = torch.Size([num_prompts])
    return shapes
