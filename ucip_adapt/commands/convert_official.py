"""``ucip-adapt convert-official CKPT --out DIR``: a release ``.pth`` to a Hub-format folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import RELEASE_TASKS, UCIPConfig
from ..flags import positive_int


def _int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def _name_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert-official",
        help="convert an authors' UCIP checkpoint (.pth state dict) to a from_pretrained folder",
        description="Convert a checkpoint saved by the UCIP authors' code. Defaults describe the UCIP-Middle release.",
    )
    parser.add_argument("checkpoint", type=Path, help="raw state_dict .pth (read with torch.load(weights_only=True))")
    parser.add_argument("--out", type=Path, required=True, help="output folder (config.json, model.safetensors, README.md)")
    parser.add_argument("--depths", type=_int_list, default=[6] * 6, help="blocks per stage, comma-separated (default 6,6,6,6,6,6)")
    parser.add_argument("--embed-dim", type=positive_int, default=128)
    parser.add_argument("--prompt-dim", type=positive_int, default=64)
    parser.add_argument("--mlp-ratio", type=float, default=4.0)
    parser.add_argument("--share-dim", type=positive_int, default=2, help="channels sharing one offset")
    parser.add_argument("--interval", type=positive_int, default=2, help="blocks per offset prediction")
    parser.add_argument("--tasks", type=_name_list, default=list(RELEASE_TASKS), help="names of the task slots, in slot order")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..convert import convert_official_checkpoint

    config = UCIPConfig(
        tasks=args.tasks,
        depths=args.depths,
        embed_dim=args.embed_dim,
        prompt_dim=args.prompt_dim,
        mlp_ratio=args.mlp_ratio,
        offset_share=args.share_dim,
        offset_interval=args.interval,
    )
    model = convert_official_checkpoint(args.checkpoint, config)
    model.save_pretrained(args.out)
    num_params = sum(t.numel() for t in model.backbone_state_dict().values())
    print(f"Converted {args.checkpoint} ({num_params:,} parameters, tasks {config.tasks}) -> {args.out}")
    return 0
