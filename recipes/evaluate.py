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
weights they belong to, and its model card shows them. The scoring, resuming and rendering are
``ucip_adapt.quality``; this script parses flags and walks the sets.
"""

from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import replace
from pathlib import Path

from ucip_adapt.bundled import DEFAULT_BACKBONE_ID
from ucip_adapt.data import bitstream_folder_template, degraded_pairs, load_hr_images, parse_degradations, require_encoders
from ucip_adapt.errors import run_reporting_errors
from ucip_adapt.flags import positive_int
from ucip_adapt.modeling.ucip import UCIP
from ucip_adapt.quality import column_fingerprints, load_comparison, pack_evaluation, reusable_rows, score_row, write_results
from ucip_adapt.training.launch import end_run, make_accelerator
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
    columns = column_fingerprints(model, packs, comparisons)
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
