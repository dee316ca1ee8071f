"""Recognise a compressed file's codec from its first bytes (its signature), not its name.

The upscale command maps an input file to the prompt pack of its codec with `detect_codec`.
"""

from __future__ import annotations

# ISOBMFF brands (the "ftyp" box) of AVIF and HEIC files. "mif1"/"msf1" alone only say "HEIF".
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}

_JXL_CODESTREAM = b"\xff\x0a"
_JXL_CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
_J2K_CODESTREAM = b"\xff\x4f\xff\x51"  # SOC marker then SIZ marker
_JP2_CONTAINER = b"\x00\x00\x00\x0cjP  \r\n\x87\n"

# NAL unit types a raw bitstream starts with: parameter sets, access unit delimiter, SEI.
_H264_FIRST_NALS = {6, 7, 9}  # SEI, SPS, AUD
_HEVC_FIRST_NALS = {32, 33, 34, 35, 39}  # VPS, SPS, PPS, AUD, prefix SEI
_VVC_FIRST_NALS = {12, 13, 14, 15, 16, 17, 20, 23}  # OPI, DCI, VPS, SPS, PPS, prefix APS, AUD, prefix SEI


def detect_codec(data: bytes) -> str | None:
    """The registry name of the codec that produced `data` (jpeg, webp, avif, heic, jxl, jpeg2000,
    hevc, vvc, h264), or None when the signature matches none of them (PNG, for instance).

    Raw HEVC/VVC/H.264 bitstreams are told apart by the header of their first NAL unit: each of the
    three standards lays its header out differently, and a stream starts with a parameter set,
    delimiter or SEI message.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith((_JXL_CODESTREAM, _JXL_CONTAINER)):
        return "jxl"
    if data.startswith((_J2K_CODESTREAM, _JP2_CONTAINER)):
        return "jpeg2000"
    if data[4:8] == b"ftyp":
        return _isobmff_codec(data)
    return _annexb_codec(data)


def _isobmff_codec(data: bytes) -> str | None:
    box_size = int.from_bytes(data[:4], "big")
    major_brand = data[8:12]
    compatible = {data[offset : offset + 4] for offset in range(16, min(box_size, len(data)) - 3, 4)}
    for brands in ({major_brand}, compatible):  # the major brand decides; compatible brands break ties
        if brands & _AVIF_BRANDS:
            return "avif"
        if brands & _HEIC_BRANDS:
            return "heic"
    return None


def _annexb_codec(data: bytes) -> str | None:
    if data.startswith(b"\x00\x00\x00\x01"):
        header = data[4:6]
    elif data.startswith(b"\x00\x00\x01"):
        header = data[3:5]
    else:
        return None
    if len(header) < 2 or header[0] & 0x80:  # forbidden_zero_bit must be 0
        return None
    first, second = header
    # VVC: forbidden(1) reserved(1) layer(6) | type(5) temporal_id+1(3)
    if first & 0x40 == 0 and second & 0x07 and second >> 3 in _VVC_FIRST_NALS:
        return "vvc"
    # HEVC: forbidden(1) type(6) layer(6) temporal_id+1(3)
    if (first >> 1) & 0x3F in _HEVC_FIRST_NALS and second & 0x07:
        return "hevc"
    # H.264: forbidden(1) nal_ref_idc(2) type(5); parameter sets are reference data, SEI/AUD are not
    nal_type, nal_ref_idc = first & 0x1F, (first >> 5) & 0x03
    if nal_type in _H264_FIRST_NALS and (nal_ref_idc != 0) == (nal_type == 7):
        return "h264"
    return None
