"""H.265/HEVC and H.264/AVC as one intra frame through PyAV (FFmpeg's libx265 and libx264),
and the PyAV helpers that VVC shares: the RGB <-> YUV 4:2:0 conversion, single-threaded decoding
of raw (Annex B) bitstreams and the slice-QP trace.

Colour path (as ``shared/data/README.md``): RGB -> YUV 4:2:0 by swscale with its defaults (BT.601
matrix, limited range, bilinear chroma filter), the same as ``ffmpeg -pix_fmt yuv420p``; decoded
frames go back to RGB by swscale with the colour description the bitstream signals, or BT.601
limited range when it signals none (our streams signal none).
"""

from __future__ import annotations

import io
import re
from abc import abstractmethod
from fractions import Fraction
from typing import Any

import numpy as np

from ucip_adapt.codecs.base import Codec, Level, check_rgb_uint8, numeric_level, package_version, require_module

# FFmpeg's raw demuxer name of each bitstream codec, and the syntax elements whose sum with 26 is
# the slice QP: (picture-parameter-set initial QP, slice- or picture-header deltas).
_QP_SYNTAX = {
    "h264": ("pic_init_qp_minus26", ("slice_qp_delta",)),
    "hevc": ("init_qp_minus26", ("slice_qp_delta",)),
    "vvc": ("pps_init_qp_minus26", ("ph_qp_delta", "sh_qp_delta")),
}
_TRACE_LINE = re.compile(r"^\s*\d+\s+(\w+)\s+[01]+ = (-?\d+)\s*$")


def _av(codec: str) -> Any:
    return require_module("av", "av", codec)


def rgb_to_yuv420(rgb: np.ndarray, codec: str) -> Any:
    """RGB uint8 HxWx3 -> an 8-bit ``yuv420p`` `av.VideoFrame` (swscale BT.601, limited range)."""
    av = _av(codec)
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv420p")


def yuv_frame_to_rgb(frame: Any) -> np.ndarray:
    """A decoded `av.VideoFrame` (any YUV format and bit depth) -> RGB uint8 HxWx3.

    Uses the matrix and range the stream signals; unsignalled means BT.601 limited range.
    """
    colorspace = frame.colorspace if frame.colorspace != 2 else "ITU601"  # 2 = unspecified
    color_range = frame.color_range if frame.color_range != 0 else "MPEG"  # 0 = unspecified
    rgb = frame.reformat(
        format="rgb24",
        src_colorspace=colorspace,
        src_color_range=color_range,
        dst_color_range="JPEG",
        interpolation="BILINEAR",
    )
    return rgb.to_ndarray()


def decode_bitstream(data: bytes, bitstream_format: str) -> np.ndarray:
    """Decode the first picture of a raw Annex B bitstream (``"hevc"``, ``"h264"``, ``"vvc"``).

    The decoder runs single-threaded: FFmpeg 8.1's threaded VVC decoder sometimes returns corrupted
    frames (see ``shared/data/README.md``), and one thread costs nothing on one small picture.
    """
    av = _av(bitstream_format)
    try:
        with av.open(io.BytesIO(data), format=bitstream_format) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            for frame in container.decode(stream):
                return yuv_frame_to_rgb(frame)
    except av.FFmpegError as error:
        raise ValueError(f"cannot decode these {len(data)} bytes as a {bitstream_format} bitstream: {error}") from error
    raise ValueError(f"no picture in these {len(data)} bytes: not a {bitstream_format} bitstream, or truncated")


def slice_qps(data: bytes, bitstream_format: str) -> list[int]:
    """The luma QP of every slice of a raw bitstream, read from its headers by FFmpeg's
    ``trace_headers`` bitstream filter (26 + the PPS initial QP + the slice/picture QP delta).

    This is how the tests prove that an encoder coded the QP it was asked for.
    """
    av = _av(bitstream_format)
    init_name, delta_names = _QP_SYNTAX[bitstream_format]
    previous_level = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)
    try:
        with av.logging.Capture() as logs, av.open(io.BytesIO(data), format=bitstream_format) as container:
            stream = container.streams.video[0]
            trace = av.BitStreamFilterContext("trace_headers", stream)
            for packet in container.demux(stream):
                trace.filter(packet)
            trace.filter(None)
    finally:
        av.logging.set_level(previous_level)
    qps: list[int] = []
    init_qp = 26
    for _level, source, message in logs:
        match = _TRACE_LINE.match(message) if source == "trace_headers" else None
        if match is None:
            continue
        name, value = match.group(1), int(match.group(2))
        if name == init_name:
            init_qp = 26 + value
        elif name in delta_names:
            qps.append(init_qp + value)
    return qps


class IntraVideoCodec(Codec):
    """A video encoder run on one intra frame, YUV 4:2:0 8-bit, at an exact QP.

    The encoder's informational SEI messages (its version and option string, 0.5-2 KB) are removed
    with FFmpeg's ``filter_units`` bitstream filter: they carry nothing a decoder needs and would
    dominate the bpp of a small LR image. Parameter sets and the slice remain, so bpp counts them.
    """

    encoder: str
    bitstream_format: str
    params_option: str
    sei_nal_type: int

    def __init__(self, preset: str = "slow") -> None:
        _av(self.name)
        self.preset = preset

    @abstractmethod
    def encoder_params(self, qp: int) -> str:
        """The encoder's own parameter string (``x265-params`` / ``x264-params``) for `qp`."""

    def encode(self, rgb: np.ndarray, level: Level) -> bytes:
        av = _av(self.name)
        rgb = check_rgb_uint8(rgb, self.name)
        qp = numeric_level(self.name, level, "QP", 0, 51)
        height, width = rgb.shape[:2]
        if height % 2 or width % 2:
            raise ValueError(
                f"codec {self.name!r} codes YUV 4:2:0, which needs an even width and height, got {width}x{height}; "
                f"pad first (ucip_adapt.image_degradation.pad_to_multiple(rgb, {self.block_size}))"
            )
        context = av.CodecContext.create(self.encoder, "w")
        context.width, context.height = width, height
        context.pix_fmt = "yuv420p"
        context.time_base = Fraction(1, 1)
        context.thread_count = 1  # x264 cuts one slice per thread: one thread, same bitstream on every machine
        context.options = {"preset": self.preset, self.params_option: self.encoder_params(qp)}
        frame = rgb_to_yuv420(rgb, self.name)
        packets = [*context.encode(frame), *context.encode(None)]
        strip_sei = av.BitStreamFilterContext(f"filter_units=remove_types={self.sei_nal_type}", self.bitstream_format)
        kept = [out for packet in packets for out in strip_sei.filter(packet)] + list(strip_sei.filter(None))
        return b"".join(bytes(packet) for packet in kept)

    def decode(self, data: bytes) -> np.ndarray:
        return decode_bitstream(data, self.bitstream_format)

    @property
    def implementation(self) -> str:
        return f"PyAV {package_version('av')} {self.encoder}"


class HevcCodec(IntraVideoCodec):
    """HEVC/H.265 by x265 (``libx265``), preset slow, one intra frame; the level is the QP.

    ``ipratio=1`` etc. make the slice QP equal the requested QP: with a plain ``qp=37`` x265 codes
    the I-frame at QP 34. `log_level` is x265's own console log level (``"info"`` prints its stats).
    """

    name = "hevc"
    levels = (47, 42, 37, 32)
    block_size = 8
    encoder = "libx265"
    bitstream_format = "hevc"
    params_option = "x265-params"
    sei_nal_type = 39  # PREFIX_SEI_NUT

    def __init__(self, preset: str = "slow", log_level: str = "error") -> None:
        super().__init__(preset)
        self.log_level = log_level

    def encoder_params(self, qp: int) -> str:
        return (
            f"qp={qp}:ipratio=1:pbratio=1:aq-mode=0:psy-rd=0:psy-rdoq=0:keyint=1:bframes=0"
            f":log-level={self.log_level}"
        )


class H264Codec(IntraVideoCodec):
    """H.264/AVC by x264 (``libx264``), preset slow, one intra frame; the level is the QP.

    ``ipratio=1`` makes the slice QP equal the requested QP (x264 logs through FFmpeg, which PyAV
    keeps silent unless ``av.logging`` is enabled).
    """

    name = "h264"
    levels = (43, 38, 36, 34)
    block_size = 16
    encoder = "libx264"
    bitstream_format = "h264"
    params_option = "x264-params"
    sei_nal_type = 6  # SEI

    def encoder_params(self, qp: int) -> str:
        return f"qp={qp}:ipratio=1:pbratio=1:aq-mode=0:keyint=1:bframes=0"
