"""Model cards (``README.md`` with Hub metadata) for backbones and prompt packs.

A pack card declares the pack an ``adapter`` of its ``base_model`` with ``library_name:
ucip-adapt`` and the tags ``ucip-prompt-pack`` and ``codec-<name>``, so the Hub lists it under its
backbone and tag searches find it. Its measured PSNR-Y goes into ``model-index`` (as
``EvalResult``) and, beside the baselines it was measured against, into tables: its held-out photos
(from tuning) and the evaluation sets (once ``recipes/evaluate.py --record-in-packs`` has scored it). One card format
serves a single pack and a repository of several packs in sub-folders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from .atomic import atomic_write_text

LIBRARY_NAME = "ucip-adapt"
PACK_TAG = "ucip-prompt-pack"

PackOnCard = tuple[str | None, Mapping[str, Any]]
"""A pack as a card shows it: its sub-folder in the repository (``None`` at the root) and its metadata."""


def patch_label(patch_size: int | Sequence[int]) -> str:
    """A run's recorded ``--patch-size`` as cards print it: ``96x96``, or ``96x96 and 128x128 in turn``."""
    sizes = [patch_size] if isinstance(patch_size, int) else list(patch_size)
    label = " and ".join(f"{size}x{size}" for size in sizes)
    return label + " in turn" if len(sizes) > 1 else label


def hub_model_id(name: str | None) -> str | None:
    """``name`` if it is a Hub repo id, ``None`` for a local path or nothing (a card must not name those)."""
    if not name or name.count("/") != 1 or Path(name).exists():
        return None
    try:
        validate_repo_id(name)
    except HFValidationError:
        return None
    return name


PACK_FIGURE = "images/crops.png"
"""Where a pack's repository keeps its before/after crops (``benchmarks/figures.py --cards``), shown on its card."""


def pack_card(packs: Sequence[PackOnCard], repo_id: str | None = None, figure: str | None = None) -> ModelCard:
    """Card of one or several prompt packs (a repository with one pack per sub-folder); ``figure``:
    the path, inside the repository, of an image shown under the title."""
    if not packs:
        raise ValueError("A pack card needs at least one pack.")
    codecs = [_codec(meta) for _, meta in packs]
    base_models = sorted({m for _, meta in packs if (m := hub_model_id(meta.get("base_model")))})
    model_name = repo_id or f"ucip-prompt-pack-{'-'.join(codecs)}"
    eval_results = [result for subfolder, meta in packs for result in _psnr_results(subfolder, meta)]
    data = ModelCardData(
        library_name=LIBRARY_NAME,
        base_model=(base_models[0] if len(base_models) == 1 else base_models) or None,
        tags=[PACK_TAG, *dict.fromkeys(f"codec-{c}" for c in codecs), "super-resolution", "image-restoration"],
        pipeline_tag="image-to-image",
        model_name=model_name if eval_results else None,
        eval_results=eval_results or None,
    )
    data.base_model_relation = "adapter"
    title = f"UCIP prompt pack: {codecs[0]}" if len(packs) == 1 else f"UCIP prompt packs: {', '.join(codecs)}"
    lines = [
        "---", data.to_yaml(), "---", "", f"# {title}", "",
        "Basic prompts and coefficient heads that adapt a frozen UCIP x4 backbone to new compressed-image codecs, "
        "a few tens of KB each. Nothing of the backbone is stored here; a pack only loads on the exact backbone "
        "it was tuned on (ucip-adapt checks its fingerprint).",
    ]
    if figure:
        lines += ["", f"![LR as received, bicubic, the backbone's start task, this pack, the original]({figure})"]
    for subfolder, meta in packs:
        lines += ["", *_pack_section(subfolder, meta, repo_id, several=len(packs) > 1)]
    return ModelCard("\n".join(lines) + "\n")


def write_pack_card(folder: str | Path, metadata: Mapping[str, Any]) -> Path:
    """Write the ``README.md`` of a single pack saved in ``folder`` atomically (showing its
    :data:`PACK_FIGURE` if the folder has one)."""
    path = Path(folder) / "README.md"
    figure = PACK_FIGURE if (Path(folder) / PACK_FIGURE).is_file() else None
    atomic_write_text(path, str(pack_card([(None, metadata)], figure=figure)))
    return path


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "not recorded"


def _codec(metadata: Mapping[str, Any]) -> str:
    return str(metadata.get("codec") or metadata.get("name") or "unknown")


def _psnr(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """The PSNR-Y measurements a tuning run records: ``after`` (with the pack), ``before``,
    ``best_seen_task`` (the backbone's best own task, zero-shot) and ``bicubic``."""
    psnr = metadata.get("psnr_y")
    return psnr if isinstance(psnr, Mapping) else {}


def _evaluation(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """Per evaluation set, the mean scores ``recipes/evaluate.py --record-in-packs`` recorded in the pack."""
    evaluation = metadata.get("evaluation")
    return evaluation.get("sets", {}) if isinstance(evaluation, Mapping) else {}


def _psnr_results(subfolder: str | None, metadata: Mapping[str, Any]) -> list[EvalResult]:
    """The pack's PSNR-Y on its held-out photos and on each evaluation set, for the card's ``model-index``."""
    codec = _codec(metadata)
    task = f"x4 super-resolution of {codec}-compressed images" + (f" (pack in {subfolder}/)" if subfolder else "")
    held_out = (f"held-out split of {metadata.get('data', 'the tuning data')}", "held-out", metadata.get("levels"), _psnr(metadata).get("after"))
    # the Hub groups results by dataset type (not name), so each evaluation set is its own type
    measured = [held_out, *((name, name, scores["levels"], scores["psnr_y"]["pack"]) for name, scores in _evaluation(metadata).items())]
    return [
        EvalResult(task_type="image-to-image", task_name=task, dataset_type=dataset_type, dataset_name=dataset,
                   dataset_args={"codec": codec, "levels": list(levels or [])}, metric_type="psnr", metric_name="PSNR-Y (dB)",
                   metric_value=round(float(value), 3))
        for dataset, dataset_type, levels, value in measured if value is not None
    ]


def _evaluation_table(metadata: Mapping[str, Any]) -> list[str]:
    """The evaluation sets' mean scores as Markdown, or nothing when none were recorded."""
    evaluation = _evaluation(metadata)
    if not evaluation:
        return []
    lines = ["", "Evaluation sets, mean PSNR-Y (dB) over the levels, BT.601 Y, border 4 (`recipes/evaluate.py --record-in-packs`):", "",
             "| set | images | levels | bicubic | backbone, zero-shot (task) | this pack | pack - zero-shot |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, scores in evaluation.items():
        psnr = scores["psnr_y"]
        lines.append(f"| {name} | {scores['images']} | {', '.join(map(str, scores['levels']))} | {psnr['bicubic']:.2f} | {psnr['zero_shot']:.2f} "
                     f"(`{scores['zero_shot_task']}`) | {psnr['pack']:.2f} | {psnr['pack'] - psnr['zero_shot']:+.3f} |")
    return lines


def _selection_words(selection: Mapping[str, Any], start_task: str) -> str:
    """Which training state the pack holds, as the tuning run chose it."""
    if selection.get("rule") == "last":
        return f"the final EMA state (step {selection.get('step')})"
    if selection.get("step") == 0:
        return (f"its starting point, task `{start_task}`'s prompts: no trained state beat it on the validation photos, "
                "so zero-shot with that task is as good")
    return (f"the run's best state on the validation photos, step {selection.get('step')} "
            f"(validation PSNR-Y {selection.get('score', float('nan')):.3f} dB)")


def _size_words(metadata: Mapping[str, Any]) -> str:
    """How many basic prompts per stage the pack holds, where its metadata records it."""
    shapes = metadata.get("shapes")
    count = shapes.get("num_prompts") if isinstance(shapes, Mapping) else None
    return f" ({count} basic prompts and a coefficient head per stage)" if isinstance(count, int) else ""


def _pack_section(subfolder: str | None, metadata: Mapping[str, Any], repo_id: str | None, *, several: bool) -> list[str]:
    codec = _codec(metadata)
    base = hub_model_id(metadata.get("base_model"))
    weights_sha = str(metadata.get("base_fingerprint", {}).get("weights", "?"))[:16]
    lines = [f"## {codec}" + (f" (`{subfolder}/`)" if subfolder else ""), ""] if several else []
    lines += [
        f"- Codec: **{codec}**, levels trained on: {metadata.get('levels', 'not recorded')}",
        f"- Base backbone: `{base or 'a local backbone'}` (weights SHA-256 `{weights_sha}...`)",
        f"- Trained parameters: {_count(metadata.get('num_parameters'))}" + _size_words(metadata),
    ]
    if metadata.get("steps") is not None:
        lines.append(f"- Tuned: {metadata['steps']} steps, batch {metadata.get('batch_size', '?')}, "
                     f"LR patch {patch_label(metadata['patch_size']) if 'patch_size' in metadata else '?'}, "
                     + (f"learning rate {metadata['lr']:g}, " if metadata.get("lr") is not None else "")
                     + f"{_count(metadata.get('train_pairs'))} training pairs")
    if isinstance(selection := metadata.get("selection"), Mapping):
        lines.append(f"- Written: {_selection_words(selection, _psnr(metadata).get('best_seen_task', '?'))}")
    psnr = _psnr(metadata)
    if psnr.get("after") is not None:
        lines += ["", f"Held-out PSNR-Y ({metadata.get('heldout_pairs', '?')} pairs, {metadata.get('data', 'tuning data')}):", "",
                  "| method | PSNR-Y (dB) |", "| --- | --- |"]
        if psnr.get("bicubic") is not None:
            lines.append(f"| bicubic | {psnr['bicubic']:.2f} |")
        if psnr.get("before") is not None:
            lines.append(f"| backbone, its best own task (`{psnr.get('best_seen_task', '?')}`), zero-shot | {psnr['before']:.2f} |")
        lines.append(f"| backbone + this pack | {psnr['after']:.2f} |")
    lines += _evaluation_table(metadata)
    where = f'"{repo_id or "<this repo or folder>"}"' + (f', subfolder="{subfolder}"' if subfolder else "")
    lines += [
        "", "```python", "from ucip_adapt import UCIP",
        f'model = UCIP.from_pretrained("{base or "<base backbone>"}")',
        f"name = model.load_prompts({where})",
        "sr = model.upscale(lr, task=name)", "```",
    ]
    return lines


def backbone_card(config: Any, num_parameters: int, extra_markdown: str = "", repo_id: str | None = None) -> ModelCard:
    """Card of a UCIP backbone: what it is, its task slots and shape, and how to load it (from ``repo_id``)."""
    data = ModelCardData(
        library_name=LIBRARY_NAME,
        tags=["super-resolution", "image-restoration", "compressed-image-super-resolution", "ucip"],
        pipeline_tag="image-to-image",
    )
    lines = [
        "---",
        data.to_yaml(),
        "---",
        "",
        "# UCIP x4 backbone",
        "",
        "Universal compressed-image super-resolution (UCIP, ECCV 2024): one x4 network whose dynamic prompt "
        "module mixes a few learned basic prompts per codec into a per-pixel prompt that steers every block. "
        "New codecs are added with prompt packs (a few tens of KB) while this backbone stays frozen.",
        "",
        f"- Parameters: {num_parameters:,}",
        f"- Task slots (codecs seen in training): {', '.join(config.tasks)}",
        f"- Stages x blocks: {config.depths}, width {config.embed_dim}, prompt width {config.prompt_dim}, "
        f"{config.num_prompts} basic prompts per task",
        "- Input: RGB in [0, 1], LR of any size; output: x4, clamped to [0, 1] by `upscale`.",
        "",
        "```python",
        "from ucip_adapt import UCIP",
        f'model = UCIP.from_pretrained("{repo_id or "<this repo or folder>"}")',
        f'sr = model.upscale(lr, task="{config.tasks[0]}")',
        "```",
    ]
    if extra_markdown:
        lines += ["", extra_markdown.strip()]
    return ModelCard("\n".join(lines) + "\n")


def estimator_card(config: Any, num_parameters: int, cost: str, training: str, command: str,
                   confusion: Any, per_level: Mapping[tuple[str, int], Sequence[bool]]) -> str:
    """Card of a codec estimator (``ucip_adapt.blind``): what it does, its cost and training, the
    confusion matrix of its held-out pictures (true codec rows, estimated columns) and its codec
    accuracy per level (``per_level[(codec, level)]``: one bool per picture)."""
    codecs = list(config.codecs)
    fallbacks = ", ".join(f"{codec} -> `{task}`" for codec, task in config.fallback_tasks.items()) or "none needed"
    lines = [
        '# Codec estimator of the bundled backbone (`task="auto"`)', "",
        'Reads which codec compressed a picture, and how hard, from its decoded pixels; `task="auto"` then runs the task or '
        "loaded prompt pack of that codec, or, for a codec with neither, the backbone task that restored it best on the "
        f"training photos' validation pairs: {fallbacks}.", "",
        f"- Classes: {', '.join(codecs)}; levels: the {config.num_levels} standard levels of each codec (heavy -> light)",
        f"- Parameters: {num_parameters:,}; {cost}",
        f"- Trained: {training}", "",
        "```bash", command, "```", "",
        f"## Confusion matrix ({int(confusion.sum())} held-out pictures, whole, one level per photo and codec)", "",
        "| true \\ estimated | " + " | ".join(codecs) + " | accuracy |",
        "|---|" + "---|" * (len(codecs) + 1),
    ]
    for row, codec in enumerate(codecs):
        lines.append(f"| **{codec}** | " + " | ".join(str(int(n)) for n in confusion[row])
                     + f" | {confusion[row, row] / max(int(confusion[row].sum()), 1):.0%} |")
    overall = sum(int(confusion[i, i]) for i in range(len(codecs))) / int(confusion.sum())
    lines += ["", f"Overall: {overall:.1%}.", "", "## Codec accuracy per level (0 = heaviest)", "",
              "| codec | " + " | ".join(f"level {i}" for i in range(config.num_levels)) + " |", "|---|" + "---|" * config.num_levels]
    for codec in codecs:
        cells = [per_level.get((codec, level), []) for level in range(config.num_levels)]
        if any(cells):
            lines.append(f"| {codec} | " + " | ".join(f"{sum(c) / len(c):.0%} ({len(c)})" if c else "-" for c in cells) + " |")
    return "\n".join(lines) + "\n"


def training_card(summary: Mapping[str, Any]) -> str:
    """Markdown of a backbone's training facts (``recipes/pretrain_backbone.py``'s summary) and its
    loss curve, appended to its model card."""
    losses = summary["losses"]
    every = max(1, len(losses) // 20)
    windows = [losses[i : i + every] for i in range(0, len(losses), every)]
    curve = "\n".join(f"| {w[0][0]}-{w[-1][0]} | {sum(loss for _, loss in w) / len(w):.4f} |" for w in windows)
    return (
        "## Training\n\n"
        f"- Recipe: `{summary['launcher']} recipes/pretrain_backbone.py {' '.join(summary['argv'])}`\n"
        + (f"- Initialised from {summary['init_from']} (an earlier stage)\n" if summary.get("init_from") else "")
        + f"- Data: {summary['data']} ({summary['train_pairs']} training pairs of {', '.join(summary['codecs'])} at four levels each)\n"
        f"- Steps {summary['steps']}, batch {summary['batch_size']}, LR patch {patch_label(summary['patch_size'])}, "
        f"precision {summary['mixed_precision']}\n"
        f"- Hardware: {summary['hardware']}; wall time {summary['wall_seconds'] / 3600:.2f} h, "
        f"CPU time of the main process {summary['cpu_seconds'] / 3600:.2f} h\n"
        f"- Held-out PSNR-Y (EMA weights): {summary['heldout_psnr_y']:.2f} dB (bicubic {summary['heldout_bicubic_psnr_y']:.2f} dB)\n\n"
        "| steps | mean L1 loss |\n|---|---|\n" + curve + "\n"
    )
