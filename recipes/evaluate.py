"""The quality table: PSNR-Y / SSIM-Y / bpp per set x codec x level, for bicubic, the backbone and packs.

    python recipes/evaluate.py --data ../shared/data/eval/kodak24 ../shared/data/eval/set14 \
        --vvc-bitstreams ../shared/data/vvc/eval/kodak24 ../shared/data/vvc/eval/set14 \
        --packs ucip-adapt/ucip-small-x4-avif --out results/quality.json

For a codec the backbone has seen, the backbone runs with that codec's own task. For an unseen
codec, every seen task is tried and the best is reported with its name (zero-shot), and each pack
made for that codec is scored too (``--zero-shot-tasks`` narrows the seen tasks tried, e.g. to the one a
tuning run found best on its held-out photos). The JSON at ``--out`` is rewritten atomically after every
row, with a Markdown table beside it, and records the SHA-256 of the weights behind each column.
``--resume`` reuses every score of an earlier ``--out`` whose model is unchanged (bicubic always, the
backbone's tasks, each pack, each compared model) and scores only the rest: an interrupted run goes on
where it stopped, and a retuned pack is re-scored without scoring the others again. The new ``--out``
holds the rows this command asks for, each written once it is whole.
``--record-in-packs`` then writes each pack's per-set means into its metadata, with the SHA-256 of the
weights they belong to, and its model card shows them.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ucip_adapt.atomic import atomic_write_text
from ucip_adapt.bundled import DEFAULT_BACKBONE_ID
from ucip_adapt.data import bitstream_folder_template, degraded_pairs, load_hr_images, parse_degradations, require_encoders
from ucip_adapt.errors import run_reporting_errors
from ucip_adapt.flags import positive_int
from ucip_adapt.modeling.ucip import UCIP
from ucip_adapt.prompts.fingerprint import weights_fingerprint
from ucip_adapt.training.evaluation import ImageScore, score_pairs
from ucip_adapt.training.launch import end_run, make_accelerator
from ucip_adapt.training.methods import TUNING_RECORD
from ucip_adapt.training.pairs import ImagePair, materialize_pairs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default=DEFAULT_BACKBONE_ID)
    parser.add_argument("--packs", nargs="*", default=[], help="prompt packs: files, folders or Hub ids")
    parser.add_argument("--compare", nargs="*", default=[], type=Path,
                        help="outputs of tune_prompts.py --method lora/full (folders holding tuning.json), scored on their codec")
    parser.add_argument("--data", nargs="+", required=True, help="folders of HR images, one evaluation set each")
    parser.add_argument("--vvc-bitstreams", nargs="*", default=None, help="per --data folder, its VVC bitstream folder")
    parser.add_argument("--codecs", default=None, help="comma-separated (default: the backbone's tasks and the packs' codecs)")
    parser.add_argument("--levels", default=None, help="comma-separated levels for every codec (default: each codec's four)")
    parser.add_argument("--zero-shot-tasks", default=None,
                        help="comma-separated seen tasks to try on an unseen codec (default: all of the backbone's)")
    parser.add_argument("--out", type=Path, required=True, help="JSON path; the Markdown table is written beside it")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error (default: one line)")
    parser.add_argument("--resume", action="store_true", help="reuse the scores in an existing --out of every model whose weights are unchanged")
    parser.add_argument("--record-in-packs", action="store_true",
                        help="write each pack's mean scores per set into its metadata and model card "
                             "(packs given as local folders or files; a bundled pack is ucip_adapt/bundled/<repo name>)")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--num-proc", type=positive_int, default=None)
    parser.add_argument("--threads", type=positive_int, default=None, help="PyTorch threads (default: every core), e.g. 1 beside a training run")
    return parser.parse_args(argv)


def summarize(scores: list[ImageScore]) -> dict[str, float]:
    return {"psnr_y": float(np.mean([s.psnr_y for s in scores])), "ssim_y": float(np.mean([s.ssim_y for s in scores]))}


def load_comparison(folder: Path, backbone: str, device) -> tuple[str, dict, torch.nn.Module]:
    """A LoRA adapter (on a fresh copy of the backbone) or a fine-tuned backbone, with its record."""
    record = json.loads((folder / TUNING_RECORD).read_text())
    if record["method"] == "lora":
        from peft import PeftModel

        model = PeftModel.from_pretrained(UCIP.from_pretrained(backbone), folder)
    else:
        model = UCIP.from_pretrained(folder)
    return f"{record['method']}:{record['codec']}", record, model.to(device).eval()


def score_row(earlier: dict, load_pairs: Callable[[], list[ImagePair]], codec: str, model: UCIP, packs: list[str],
              accelerator, comparisons: list[tuple[str, dict, torch.nn.Module]] = (),
              zero_shot_tasks: list[str] | None = None) -> tuple[dict, list[str]]:
    """All methods on the pairs of one (set, codec, level), reusing the scores ``earlier`` holds; the pairs
    are degraded only when a score is missing. Returns the row and the columns scored now."""
    scores, scored = dict(earlier), []

    def score(column: str, scored_model: torch.nn.Module | None = None, task: str | int | None = None) -> dict[str, float]:
        if column not in scores:
            scores[column] = summarize(score_pairs(load_pairs(), scored_model, task, accelerator))
            scored.append(column)
        return scores[column]

    row: dict = {}
    if "bicubic" not in scores:
        pairs = load_pairs()
        scores.update(images=len(pairs), bpp=float(np.mean([p.bpp for p in pairs])))
    row.update(images=scores["images"], bpp=scores["bpp"], bicubic=score("bicubic"))
    if codec in model.tasks:
        row["backbone"] = score("backbone", model, codec)
    else:
        scores.update({f"task:{task}": result for task, result in scores.get("zero_shot", {}).get("all", {}).items()})
        tried = {task: score(f"task:{task}", model, task) for task in zero_shot_tasks or model.tasks}
        best = max(tried, key=lambda task: tried[task]["psnr_y"])
        row["zero_shot"] = {**tried[best], "task": best, "all": tried}
    for pack in packs:
        row[f"pack:{pack}"] = score(f"pack:{pack}", model, pack)
    for label, record, compared in comparisons:
        row[label] = score(label, compared, record["task"])
    return row, scored


def fingerprints(model: UCIP, packs: list[str], comparisons: list[tuple[str, dict, torch.nn.Module]]) -> dict[str, str]:
    """Per result column, the SHA-256 of the weights that produced it: what ``--resume`` compares."""
    backbone = model.backbone_fingerprint()["weights"]
    return {"backbone": backbone, "zero_shot": backbone,
            **{f"pack:{name}": weights_fingerprint(model.prompt_state_dict(name)) for name in packs},
            **{label: weights_fingerprint(compared.state_dict()) for label, _, compared in comparisons}}


SCORED_MODELS = ("backbone", "zero_shot", "pack", "lora", "full")
"""The model columns of a result row, apart from bicubic (a pack column is "pack:<name>")."""


def baseline_of(row: dict) -> dict:
    """What the tuned models of a row are measured against: the backbone's own task on a seen codec, its
    best seen task (zero-shot, with that task's name) on an unseen one."""
    return row["backbone"] if "backbone" in row else row["zero_shot"]


def method_of(column: str) -> str | None:
    """The method a row column belongs to: "pack:avif" -> "pack"; bookkeeping columns -> None."""
    method = column.split(":")[0]
    return method if method in SCORED_MODELS else None


def gain_summary(results: dict) -> list[str]:
    """Per set and codec (and per set over all its codecs), mean PSNR-Y over the levels: the baseline's gain
    over bicubic (the backbone's own task on a seen codec, its best seen task, zero-shot, on an unseen one),
    in SSIM-Y too, each tuned model's gain over that baseline, and the share of full fine-tuning's gain
    that the pack recovers."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for key, row in results["rows"].items():
        set_name, codec, _ = key.split("|")
        groups.setdefault((set_name, codec), []).append(row)
    for set_name in dict.fromkeys(name for name, _ in groups):
        codecs = [codec for name, codec in groups if name == set_name]
        if len(codecs) > 1:
            groups[(set_name, "all")] = [row for codec in codecs for row in groups[(set_name, codec)]]
    means = {group: _mean_scores(rows) for group, rows in groups.items()}
    present = {method for mean in means.values() for method in mean}
    baseline = " / ".join(name for method, name in (("backbone", "backbone"), ("zero_shot", "zero-shot"))
                          if any(method in row for row in results["rows"].values()))
    tuned = [method for method in ("pack", "lora", "full") if method in present]
    with_share = {"pack", "full"} <= present
    lines = ["| set | codec | degradations | bicubic | " + " | ".join([f"{baseline} - bicubic"] + [f"{m} - {baseline}" for m in tuned])
             + f" | SSIM-Y, {baseline} - bicubic" + (" | pack / full |" if with_share else " |"),
             "|---|---|---|---|---|---|" + "---|" * (len(tuned) + with_share)]
    for (set_name, codec), rows in groups.items():
        mean = means[(set_name, codec)]
        reference = mean["baseline"]
        cells = [f"{reference[0] - mean['bicubic'][0]:+.2f}"] + [f"{mean[m][0] - reference[0]:+.3f}" if m in mean else "" for m in tuned]
        cells.append(f"{reference[1] - mean['bicubic'][1]:+.4f}")
        if with_share:
            cells.append(_pack_share(mean, reference[0]))
        lines.append(f"| {set_name} | {codec} | {len(rows)} | {mean['bicubic'][0]:.2f} | " + " | ".join(cells) + " |")
    return lines


def _mean_scores(rows: list[dict]) -> dict[str, tuple[float, float]]:
    """Mean (PSNR-Y, SSIM-Y) of bicubic, of the baseline (each row's backbone or zero-shot) and of each
    model scored on every one of ``rows``."""
    scored = {"bicubic": [row["bicubic"] for row in rows], "baseline": [baseline_of(row) for row in rows]}
    for method in ("pack", "lora", "full"):
        scored[method] = [row[col] for row in rows for col in row if method_of(col) == method]
    return {method: (float(np.mean([s["psnr_y"] for s in scores])), float(np.mean([s["ssim_y"] for s in scores])))
            for method, scores in scored.items() if len(scores) == len(rows)}


def _pack_share(mean: dict[str, tuple[float, float]], reference: float) -> str:
    """The pack's gain over the baseline as a share of full fine-tuning's; none where full gains less than
    the 0.001 dB the table prints (a share of a gain that small would be noise, e.g. 28807 %)."""
    if not {"pack", "full"} <= mean.keys():
        return "-"
    full_gain = mean["full"][0] - reference
    return f"{100 * (mean['pack'][0] - reference) / full_gain:.0f} %" if full_gain >= 0.001 else "none: full gains under 0.001 dB"


def pack_evaluation(results: dict, pack: str) -> dict[str, dict]:
    """Per set, the mean PSNR-Y / SSIM-Y over the levels of bicubic, the baseline (zero-shot, or the
    backbone's own task on a seen codec) and pack ``pack``: what ``--record-in-packs`` writes into the pack."""
    sets: dict[str, list[tuple[str, str, dict]]] = {}
    for key, row in results["rows"].items():
        if f"pack:{pack}" in row:
            set_name, codec, level = key.split("|")
            sets.setdefault(set_name, []).append((codec, level, row))
    evaluation = {}
    for name, rows in sets.items():
        baselines = [baseline_of(row) for _, _, row in rows]
        columns = {"bicubic": [row["bicubic"] for *_, row in rows], "zero_shot": baselines, "pack": [row[f"pack:{pack}"] for *_, row in rows]}
        evaluation[name] = {
            "images": rows[0][2]["images"], "levels": [_number(level) for _, level, _ in rows],
            "zero_shot_task": ", ".join(sorted({baseline.get("task", codec) for (codec, _, _), baseline in zip(rows, baselines)})),
            **{metric: {column: round(float(np.mean([s[metric] for s in scores])), 4) for column, scores in columns.items()}
               for metric in ("psnr_y", "ssim_y")},
        }
    return evaluation


def _number(level: str) -> int | float | str:
    """A level as a row key spells it, as the number it is ("24" -> 24, "8.5" -> 8.5)."""
    try:
        return json.loads(level)
    except json.JSONDecodeError:
        return level


def markdown(results: dict) -> str:
    lines = ["| set | codec | level | bpp | bicubic | backbone / zero-shot (task) | packs, lora, full |", "|---|---|---|---|---|---|---|"]
    for key, row in results["rows"].items():
        set_name, codec, level = key.split("|")
        fmt = lambda m: f"{m['psnr_y']:.2f} / {m['ssim_y']:.4f}"  # noqa: E731
        model = fmt(row["backbone"]) if "backbone" in row else f"{fmt(row['zero_shot'])} ({row['zero_shot']['task']})"
        packs = "; ".join(f"{k.replace('pack:', '')}: {fmt(v)}" for k, v in row.items()
                          if method_of(k) in ("pack", "lora", "full")) or "-"
        lines.append(f"| {set_name} | {codec} | {level} | {row['bpp']:.3f} | {fmt(row['bicubic'])} | {model} | {packs} |")
    return ("Means over the levels, as gains (PSNR-Y in dB); the baseline is the backbone's own task on a seen codec "
            "and its best seen task (zero-shot) on an unseen one:\n\n" + "\n".join(gain_summary(results))
            + "\n\nPer level, PSNR-Y (dB) / SSIM-Y, BT.601 Y, border 4:\n\n" + "\n".join(lines) + "\n")


def write_results(out: Path, results: dict) -> None:
    """The JSON and its Markdown table, each replaced atomically so an interrupted run leaves valid files."""
    atomic_write_text(out, json.dumps(results, indent=2))
    atomic_write_text(out.with_suffix(".md"), markdown(results))


def reusable_rows(out: Path, columns: dict[str, str]) -> dict[str, dict]:
    """The rows of an earlier run at ``out``, keeping bicubic and the columns whose weights' fingerprint
    matches ``columns``; scores of any other model are dropped, to be scored again."""
    if not out.exists():
        return {}
    earlier = json.loads(out.read_text())
    unchanged = {column for column, fingerprint in earlier.get("fingerprints", {}).items() if columns.get(column) == fingerprint}
    return {key: {column: value for column, value in row.items() if column in ("images", "bpp", "bicubic") or column in unchanged}
            for key, row in earlier["rows"].items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.record_in_packs and (not_local := [source for source in args.packs if not Path(source).exists()]):
        raise ValueError(f"--record-in-packs writes into each pack's file, but {', '.join(not_local)} is not a local path: "
                         "pass the pack's folder or file (a bundled pack is ucip_adapt/bundled/<repo name>).")
    accelerator = make_accelerator(mixed_precision="no", gradient_accumulation_steps=1, project_dir=str(args.out.parent),
                                   threads=args.threads)
    model = UCIP.from_pretrained(args.backbone).to(accelerator.device).eval()
    packs = [model.load_prompts(source) for source in args.packs]
    pack_codecs = {name: model.list_prompts()[name].get("codec", name) for name in packs}
    comparisons = [load_comparison(folder, args.backbone, accelerator.device) for folder in args.compare]
    compared_codecs = [record["codec"] for _, record, _ in comparisons]
    codecs = args.codecs.split(",") if args.codecs else list(dict.fromkeys(model.tasks + list(pack_codecs.values()) + compared_codecs))
    bitstreams = args.vvc_bitstreams or [None] * len(args.data)
    if len(bitstreams) != len(args.data):
        raise ValueError("--vvc-bitstreams needs one folder per --data folder")
    zero_shot_tasks = args.zero_shot_tasks.split(",") if args.zero_shot_tasks else None
    unknown = sorted(set(zero_shot_tasks or []) - set(model.tasks))
    if unknown:
        raise ValueError(f"--zero-shot-tasks {','.join(unknown)}: not tasks of the backbone, which has {model.tasks}")
    require_encoders([replace(spec, pre_encoded=bitstreams[0] if spec.codec == "vvc" else None)
                      for spec in parse_degradations([f"{c}:{args.levels}" if args.levels else c for c in codecs])])
    columns = fingerprints(model, packs, comparisons)
    earlier = reusable_rows(args.out, columns) if args.resume else {}
    results: dict = {"backbone": args.backbone, "packs": {n: str(s) for n, s in zip(packs, args.packs)},
                     "compare": {label: str(folder) for (label, _, _), folder in zip(comparisons, args.compare)},
                     "fingerprints": columns, "rows": {}}  # rows in the order reached: every write holds whole rows only
    for folder, vvc in zip(args.data, bitstreams):
        hr = load_hr_images(folder, cache_dir=args.cache_dir)
        for spec in parse_degradations([f"{c}:{args.levels}" if args.levels else c for c in codecs]):  # "jpeg" or "jpeg:40,30"
            codec = spec.codec
            template = bitstream_folder_template(vvc) if codec == "vvc" and vvc else None
            key = f"{Path(folder).name}|{codec}|{spec.level}"

            @functools.cache
            def load_pairs(hr=hr, spec=spec, template=template) -> list[ImagePair]:
                with accelerator.main_process_first():
                    return materialize_pairs(degraded_pairs(hr, [replace(spec, pre_encoded=template)],
                                                            cache_dir=args.cache_dir, num_proc=args.num_proc))

            own_packs = [name for name, pack_codec in pack_codecs.items() if pack_codec == codec]
            own_comparisons = [c for c in comparisons if c[1]["codec"] == codec]
            row, scored = score_row(earlier.get(key, {}), load_pairs, codec, model, own_packs, accelerator,
                                    own_comparisons, zero_shot_tasks)
            results["rows"][key] = row
            if scored and accelerator.is_main_process:
                write_results(args.out, results)
                print(f"{key}: scored {', '.join(scored)}; " + ", ".join(f"{k} {v['psnr_y']:.2f}" for k, v in row.items() if isinstance(v, dict)), flush=True)
    if accelerator.is_main_process:
        write_results(args.out, results)
        print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
        for name, source in zip(packs if args.record_in_packs else [], args.packs):
            evaluation = {"weights_sha256": columns[f"pack:{name}"], "sets": pack_evaluation(results, name)}
            file = model.save_prompts(source, name, metadata={"evaluation": evaluation})
            print(f"recorded the evaluation of pack {name} in {file}" + ("" if Path(source).is_file() else " and its README.md"))
    end_run(accelerator)
    return 0


if __name__ == "__main__":
    sys.exit(run_reporting_errors("evaluate.py", main, debug="--debug" in sys.argv))
