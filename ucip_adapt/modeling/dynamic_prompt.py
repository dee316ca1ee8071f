"""The Dynamic Prompt Module (DPM): a per-pixel mixture of a few learned basic prompts.

Each stage owns one DPM. A coefficient head turns every pixel's features into softmax weights over
D basic prompts, and the prompt of a pixel is that weighted sum of its task's basic prompts.
The backbone's own tasks share one head and keep their basic prompts in one bank ``[T, D, Cp]``;
every prompt pack adds a named task with its own basic prompts ``[D', Cp]`` (``D' >= D``) and its own head.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .routing import TaskRouting


class CoefficientHead(nn.Module):
    """Per-pixel softmax weights over the basic prompts: Linear -> GELU -> Linear -> softmax."""

    def __init__(self, dim: int, num_prompts: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, num_prompts)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(num_prompts, num_prompts)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x))).softmax(dim=-1)


def _grown_head(head: CoefficientHead, source: Tensor) -> CoefficientHead:
    """A head over ``len(source)`` prompts, prompt ``j`` a copy of ``head``'s prompt ``source[j]``,
    whose weights summed over the copies of each prompt equal ``head``'s weight for it. The hidden
    units beyond ``head``'s start random but, their outgoing weights zero, change nothing yet."""
    count, width = len(source), head.fc2.out_features
    copies = torch.bincount(source, minlength=width)[source].to(head.fc2.bias.dtype)
    grown = CoefficientHead(head.fc1.in_features, count)
    with torch.no_grad():
        grown.fc1.weight[:width] = head.fc1.weight
        grown.fc1.bias[:width] = head.fc1.bias
        grown.fc2.weight.zero_()
        grown.fc2.weight[:, :width] = head.fc2.weight[source]
        grown.fc2.bias.copy_(head.fc2.bias[source] - copies.log())
    return grown


def _zero_sum_noise(source: Tensor, scale: float, like: Tensor) -> Tensor:
    """Gaussian noise of ``scale`` per row of ``like``, minus its mean over the rows sharing a ``source``."""
    noise = torch.randn_like(like) * scale
    group_mean = torch.zeros(int(source.max()) + 1, like.shape[1], dtype=like.dtype, device=like.device).index_add_(0, source, noise)
    group_mean /= torch.bincount(source).unsqueeze(1).to(like.dtype)
    return noise - group_mean[source]


class PackPrompts(nn.Module):
    """One prompt pack's share of a stage: its basic prompts ``[D', Cp]`` and its coefficient head."""

    def __init__(self, bank: Tensor, coef_head: CoefficientHead) -> None:
        super().__init__()
        self.bank = nn.Parameter(bank)
        self.coef_head = coef_head


class DynamicPrompt(nn.Module):
    """Per-stage prompt generator holding the backbone's bank and shared head, and any loaded packs."""

    def __init__(self, dim: int, prompt_dim: int, num_prompts: int, num_tasks: int) -> None:
        super().__init__()
        self.dim, self.prompt_dim, self.num_prompts = dim, prompt_dim, num_prompts
        self.bank = nn.Parameter(torch.rand(num_tasks, num_prompts, prompt_dim))
        self.coef_head = CoefficientHead(dim, num_prompts)
        self.packs = nn.ModuleDict()

    def add_pack(self, name: str, init_from_task: int | None = None, num_prompts: int | None = None) -> None:
        """Create a new task's tensors: a copy of a backbone task's prompts if ``init_from_task`` is
        given, else fresh basic prompts (U[0,1), as the release); the head starts as the shared one.

        ``num_prompts`` (default: the backbone's D) may be larger, as a LoRA's rank is a choice: each
        of the D prompts is then repeated and its weight split evenly among its copies, so the pack
        still starts by computing exactly what it was copied from. The copies of a prompt differ by a
        small noise that sums to zero over them, or training could never tell them apart.
        """
        count = num_prompts or self.num_prompts
        if count < self.num_prompts:
            raise ValueError(f"A pack needs at least the backbone's {self.num_prompts} basic prompts, got num_prompts={count}")
        source = torch.arange(count, device=self.bank.device) % self.num_prompts
        if init_from_task is None:
            bank = torch.rand(count, self.prompt_dim, device=self.bank.device, dtype=self.bank.dtype)
        else:
            task_bank = self.bank.detach()[init_from_task]
            bank = task_bank[source].clone()
            if count > self.num_prompts:
                bank += _zero_sum_noise(source, 1e-2 * task_bank.std().item(), bank)
        head = _grown_head(self.coef_head, source).to(device=self.bank.device, dtype=self.bank.dtype)
        self.packs[name] = PackPrompts(bank, head)

    def forward(self, x: Tensor, routing: TaskRouting) -> Tensor:
        """Prompts ``[B, H, W, Cp]`` for features ``x`` ``[B, H, W, C]``, each sample's own task."""
        if routing.is_uniform:
            return self._prompt(x, routing.tasks[0])
        prompts = [(index, self._prompt(x.index_select(0, index), task)) for task, index in routing.groups(x.device)]
        out = prompts[0][1].new_empty(*x.shape[:-1], self.prompt_dim)  # the prompts' dtype: bf16 under CUDA autocast
        for index, prompt in prompts:
            out = out.index_copy(0, index, prompt)
        return out

    def _prompt(self, x: Tensor, task: int | str) -> Tensor:
        if isinstance(task, int):
            head, bank = self.coef_head, self.bank[task]
        else:
            pack = self.packs[task]
            head, bank = pack.coef_head, pack.bank
        return head(x) @ bank
