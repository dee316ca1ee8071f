"""A codec run as two external programs that the user configures with command lines.

Placeholders in the command lines: ``{input}`` and ``{output}`` (file paths chosen here) and, in
the encode command, ``{level}``. Each command is split like a shell would (`shlex.split`) but run
without a shell; placeholders are filled per argument, so paths with spaces stay one argument.

Encode: the RGB image is written to ``{input}`` as PNG; the program writes the compressed file
to ``{output}``. Decode: the compressed bytes are written to ``{input}``; the program writes a
decoded image that Pillow can read (PNG, PPM, ...) to ``{output}``.

Example (the BPG codec)::

    from ucip_adapt.codecs import ExternalCommandCodec, register_codec
    register_codec("bpg", ExternalCommandCodec(
        name="bpg",
        encode_command="bpgenc -q {level} -f 420 -o {output} {input}",
        decode_command="bpgdec -o {output} {input}",
        levels=(45, 40, 35, 30),
        encoded_suffix=".bpg",
    ))
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ucip_adapt.codecs.base import Codec, CodecUnavailableError, Level, check_rgb_uint8
from ucip_adapt.image_io import read_image


class ExternalCommandCodec(Codec):
    """A codec whose encoder and decoder are external programs (see the module docstring).

    Args:
        name: the codec's name (and task name) in this library.
        encode_command: command line with ``{input}`` (a PNG), ``{output}`` and ``{level}``.
        decode_command: command line with ``{input}`` (the compressed file) and ``{output}``.
        levels: the codec's standard levels, heavy -> light, as the values filled into ``{level}``.
        encoded_suffix: file extension of the compressed file (some programs choose by it).
        decoded_suffix: file extension of the decoded image (``.png``, ``.ppm``, ...).
        block_size: the pipeline pads images to a multiple of this before encoding.
        timeout: seconds after which a command is killed.
    """

    def __init__(
        self,
        name: str,
        encode_command: str | Sequence[str],
        decode_command: str | Sequence[str],
        levels: Sequence[Level],
        *,
        encoded_suffix: str = ".bin",
        decoded_suffix: str = ".png",
        block_size: int = 1,
        timeout: float | None = 600,
    ) -> None:
        self.name = name
        self.encode_command = _split(encode_command, ("{input}", "{output}"), name, "encode_command")
        self.decode_command = _split(decode_command, ("{input}", "{output}"), name, "decode_command")
        self.levels = tuple(levels)
        self.encoded_suffix = encoded_suffix
        self.decoded_suffix = decoded_suffix
        self.block_size = block_size
        self.timeout = timeout

    def encode(self, rgb: np.ndarray, level: Level) -> bytes:
        rgb = check_rgb_uint8(rgb, self.name)
        with tempfile.TemporaryDirectory(prefix=f"ucip_{self.name}_") as folder:
            source, target = Path(folder) / "input.png", Path(folder) / f"encoded{self.encoded_suffix}"
            Image.fromarray(rgb).save(source, compress_level=1)
            self._run(self.encode_command, source, target, level)
            return target.read_bytes()

    def decode(self, data: bytes) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix=f"ucip_{self.name}_") as folder:
            source = Path(folder) / f"encoded{self.encoded_suffix}"
            target = Path(folder) / f"decoded{self.decoded_suffix}"
            source.write_bytes(data)
            self._run(self.decode_command, source, target, level=None)
            return read_image(target)

    def _run(self, command: list[str], source: Path, target: Path, level: Level | None) -> None:
        values = {"input": str(source), "output": str(target), "level": "" if level is None else str(level)}
        arguments = [argument.format_map(values) for argument in command]
        if shutil.which(arguments[0]) is None:
            raise CodecUnavailableError(f"codec {self.name!r}: program {arguments[0]!r} not found on PATH")
        result = subprocess.run(arguments, capture_output=True, text=True, timeout=self.timeout, check=False)
        if result.returncode != 0 or not target.is_file():
            raise RuntimeError(
                f"codec {self.name!r}: {shlex.join(arguments)} failed (exit code {result.returncode}, "
                f"output file {'missing' if not target.is_file() else 'written'}):\n{result.stderr[-2000:]}"
            )

    @property
    def implementation(self) -> str:
        return f"external {shlex.join(self.encode_command)} | {shlex.join(self.decode_command)}"


def _split(command: str | Sequence[str], required: tuple[str, ...], name: str, what: str) -> list[str]:
    arguments = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]
    if not arguments:
        raise ValueError(f"codec {name!r}: {what} is empty")
    missing = [placeholder for placeholder in required if not any(placeholder in part for part in arguments)]
    if missing:
        raise ValueError(f"codec {name!r}: {what} {arguments!r} lacks the placeholder(s) {', '.join(missing)}")
    return arguments
