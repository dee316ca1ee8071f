"""``ucip-adapt demo``: the demo page on this machine (Gradio, offline, the bundled models by default)."""

from __future__ import annotations

import argparse
import socket
import tempfile
from pathlib import Path

from ..flags import integer_in, positive_int
from ..upscale.engine import DTYPES
from ..upscale.loading import DEFAULT_BACKBONE, DEFAULT_PROMPT_PACKS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="serve the demo page: upload a compressed picture, compare bicubic and the x4 restoration, download it",
        description="Serve a Gradio page for the backbone and its prompt packs (needs: pip install 'ucip-adapt[demo]').",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=integer_in(1, 65535), default=7860, help="port (default: 7860)")
    parser.add_argument("--backbone", help=f"backbone folder, file or Hub id (default: {DEFAULT_BACKBONE})")
    parser.add_argument(
        "--packs", nargs="*", metavar="PACK",
        help=f"prompt packs to offer (default: the bundled packs of the default backbone, {', '.join(DEFAULT_PROMPT_PACKS)})",
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="default: auto (CUDA if available)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="compute precision (default: fp32)")
    parser.add_argument("--threads", type=positive_int, help="CPU threads for PyTorch (default: PyTorch's choice)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    try:
        from ..demo.app import build_demo
    except ImportError as error:
        raise ValueError(f"The demo needs Gradio ({error}); install it with: pip install 'ucip-adapt[demo]'") from None
    from ..demo.examples import make_examples
    from ..upscale.engine import Upscaler, resolve_device
    from ..upscale.loading import load_model

    _check_port(args.host, args.port)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    model = load_model(args.backbone, args.packs)
    upscaler = Upscaler(model, resolve_device(args.device), DTYPES[args.dtype])
    examples = make_examples(Path(tempfile.mkdtemp(prefix="ucip-demo-examples-")))
    demo = build_demo(model, examples, upscaler)
    print(f"ucip-adapt demo on http://{args.host}:{args.port} (Ctrl-C stops it)")
    demo.queue().launch(server_name=args.host, server_port=args.port, quiet=True, footer_links=[])
    return 0


def _check_port(host: str, port: int) -> None:
    """Refuse before the models load if the page could not listen on ``host:port``."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ValueError(f"Cannot listen on {host}:{port} ({error.strerror}); pass a free --port or another --host") from None
