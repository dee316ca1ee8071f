"""VVC/H.266: decoding by PyAV (FFmpeg's native decoder), encoding by Fraunhofer's vvenc programs.

No VVC encoder is published on PyPI. `VvcCodec.encode` therefore runs ``vvencFFapp`` (preferred,
it takes the exact command of ``shared/data/README.md``) or ``vvencapp`` from PATH, and checks the
slice QP of the result. Without either, it raises `CodecUnavailableError` pointing to the
pre-encoded route: ``shared/data/vvc/`` holds the bitstreams of every image there, which
`ucip_adapt.data.vvc_pairs` (or a `Degradation` with ``pre_encoded``) reads without an encoder.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ucip_adapt.codecs.base import Codec, CodecUnavailableError, Level, check_rgb_uint8, numeric_level, package_version
from ucip_adapt.codecs.video import decode_bitstream, rgb_to_yuv420, slice_qps

ENCODER_PROGRAMS = ("vvencFFapp", "vvencapp")


def _vvencffapp_arguments(yuv: Path, bitstream: Path, width: int, height: int, qp: int, preset: str) -> list[str]:
    # --preset must come first (it resets options given before it); --IntraQPOffset=0 keeps the
    # slice QP at the nominal QP (the presets' intra offset of -3 would code QP 37 at 34).
    return [
        f"--preset={preset}", "-i", str(yuv), f"--SourceWidth={width}", f"--SourceHeight={height}",
        "--InputBitDepth=8", "--InputChromaFormat=420", "--FrameRate=1", "--FramesToBeEncoded=1",
        "--IntraPeriod=1", "--DecodingRefreshType=idr", f"--QP={qp}", "--IntraQPOffset=0",
        "--PerceptQPA=0", "--Threads=1", "-b", str(bitstream),
    ]  # fmt: skip


def _vvencapp_arguments(yuv: Path, bitstream: Path, width: int, height: int, qp: int, preset: str) -> list[str]:
    # vvencapp's "easy" options have no intra QP offset; --additional sets it in the library.
    return [
        "--preset", preset, "-i", str(yuv), "-s", f"{width}x{height}", "-c", "yuv420", "-r", "1", "-f", "1",
        "--qp", str(qp), "--qpa", "0", "--intraperiod", "1", "--refreshtype", "idr", "--threads", "1",
        "--additional", "IntraQPOffset=0", "-o", str(bitstream),
    ]  # fmt: skip


class VvcCodec(Codec):
    """VVC intra (Main 10, 4:2:0); the level is the QP. See the module docstring for encoding.

    Args:
        encoder: path or name of ``vvencFFapp``/``vvencapp``; default: the first found on PATH.
        preset: vvenc preset (``medium`` as the shipped bitstreams).
    """

    name = "vvc"
    levels = (47, 42, 37, 32)
    block_size = 8

    def __init__(self, encoder: str | None = None, preset: str = "medium") -> None:
        self.encoder = encoder
        self.preset = preset

    def find_encoder(self) -> str:
        """Path of the vvenc program to run, or a `CodecUnavailableError` explaining the alternatives."""
        candidates = (self.encoder,) if self.encoder else ENCODER_PROGRAMS
        for program in candidates:
            found = shutil.which(program)
            if found:
                return found
        raise CodecUnavailableError(
            f"VVC encoding needs Fraunhofer's vvenc encoder ({' or '.join(candidates)}) on PATH, and none was "
            "found; no VVC encoder is published on PyPI. Either build vvenc "
            "(https://github.com/fraunhoferhhi/vvenc) and put vvencFFapp on PATH, or use pre-encoded "
            "bitstreams: shared/data/vvc/<split>/<set>/qp<QP>/<stem>.266 covers every image in shared/data, "
            "read with ucip_adapt.data.vvc_pairs(...) or "
            "Degradation('vvc', qp, pre_encoded='.../qp{level}/{name}.266'). "
            "Decoding VVC needs no encoder."
        )

    def check_encoder(self) -> None:
        self.find_encoder()

    def encode(self, rgb: np.ndarray, level: Level) -> bytes:
        rgb = check_rgb_uint8(rgb, self.name)
        qp = numeric_level(self.name, level, "QP", 0, 63)
        program = self.find_encoder()
        height, width = rgb.shape[:2]
        easy_app = Path(program).name.startswith("vvencapp")
        build_arguments = _vvencapp_arguments if easy_app else _vvencffapp_arguments
        with tempfile.TemporaryDirectory(prefix="ucip_vvc_") as folder:
            yuv, bitstream = Path(folder) / "lr.yuv", Path(folder) / "lr.266"
            yuv.write_bytes(rgb_to_yuv420(rgb, self.name).to_ndarray().tobytes())  # planar I420
            command = [program, *build_arguments(yuv, bitstream, width, height, qp, self.preset)]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0 or not bitstream.is_file():
                raise RuntimeError(
                    f"{' '.join(command)} failed (exit code {result.returncode}):\n{result.stderr[-2000:]}"
                )
            data = bitstream.read_bytes()
        coded = slice_qps(data, "vvc")
        if coded != [qp]:
            raise RuntimeError(
                f"{Path(program).name} coded slice QP {coded} instead of {qp}; "
                "use vvencFFapp, whose command line sets --IntraQPOffset=0"
            )
        return data

    def decode(self, data: bytes) -> np.ndarray:
        return decode_bitstream(data, "vvc")

    @property
    def implementation(self) -> str:
        return f"PyAV {package_version('av')} vvc decoder, {self.encoder or '/'.join(ENCODER_PROGRAMS)} encoder"
