"""The codec registry and every codec, on real LR images with the real libraries (no mocks)."""

import io
import json
import os
import shutil
import sys
import textwrap

import av
import imagecodecs
import numpy as np
import pytest
from PIL import Image

from ucip_adapt.codecs import (
    Codec,
    CodecUnavailableError,
    ExternalCommandCodec,
    MissingCodecLibraryError,
    UnknownCodecError,
    detect_codec,
    get_codec,
    list_codecs,
    register_codec,
    registry,
)
from ucip_adapt.codecs.base import require_module
from ucip_adapt.codecs.video import HevcCodec, slice_qps
from ucip_adapt.image_degradation import make_clean_pair
from ucip_adapt.image_io import read_image
from ucip_adapt.metrics import psnr_y

BUILT_IN = ["jpeg", "hevc", "vvc", "webp", "avif", "jxl", "jpeg2000", "h264", "heic"]
ENCODABLE_HERE = [name for name in BUILT_IN if name != "vvc"]


@pytest.fixture(scope="module")
def lr(shared_data) -> np.ndarray:
    """The uncompressed LR of kodim23 (192x128), as in the data pipeline."""
    return make_clean_pair(read_image(shared_data / "eval/kodak24/kodim23.png"))[1]


@pytest.fixture(scope="module")
def manifest(shared_data) -> dict:
    return json.loads((shared_data / "manifest.json").read_text())


def test_all_codecs_are_registered():
    assert set(BUILT_IN + ["external"]) <= set(list_codecs())


@pytest.mark.parametrize("name", ENCODABLE_HERE)
def test_levels_go_heavy_to_light_and_round_trip(name, lr):
    codec = get_codec(name)
    assert len(codec.levels) == 4
    sizes, qualities = [], []
    for level in codec.levels:
        data = codec.encode(lr, level)
        decoded = codec.decode(data)
        assert decoded.shape == lr.shape and decoded.dtype == np.uint8
        assert detect_codec(data) == name
        sizes.append(len(data))
        qualities.append(psnr_y(decoded, lr, crop_border=0))
    assert sizes == sorted(sizes) and len(set(sizes)) == 4, sizes
    assert qualities == sorted(qualities), qualities
    assert 20 < qualities[0] and qualities[-1] < 45


@pytest.mark.parametrize("name", ["jpeg", "hevc", "h264", "webp", "jxl"])
def test_raw_values_other_than_the_standard_levels_work(name, lr):
    codec = get_codec(name)
    level = {"jpeg": 75, "hevc": 22, "h264": 22, "webp": 80, "jxl": 1.0}[name]
    assert psnr_y(codec.decode(codec.encode(lr, level)), lr, crop_border=0) > 35


def test_hevc_codes_exactly_the_requested_qp(lr, capfd):
    codec = get_codec("hevc", log_level="info")
    data = codec.encode(lr, 37)
    assert "frame I:      1, Avg QP:37.00" in capfd.readouterr().err  # x265's own log
    assert slice_qps(data, "hevc") == [37]  # the bitstream's slice header
    assert slice_qps(get_codec("hevc").encode(lr, 47), "hevc") == [47]


def test_hevc_without_the_exact_qp_parameters_would_code_qp_minus_3(lr):
    class PlainQpHevc(HevcCodec):
        def encoder_params(self, qp: int) -> str:
            return f"qp={qp}:log-level=error"

    assert slice_qps(PlainQpHevc().encode(lr, 37), "hevc") == [34]


def test_h264_codes_exactly_the_requested_qp(lr):
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)
    try:
        with av.logging.Capture() as logs:
            data = get_codec("h264").encode(lr, 38)
    finally:
        av.logging.set_level(previous)
    assert any(source == "libx264" and "frame I:1     Avg QP:38.00" in message for _, source, message in logs)
    assert slice_qps(data, "h264") == [38]


def test_video_bitstreams_carry_no_encoder_sei(lr):
    for name, version_string in (("hevc", b"x265"), ("h264", b"x264")):
        assert version_string not in get_codec(name).encode(lr, 37)


def test_vvc_decodes_the_shipped_bitstreams_at_their_slice_qp(shared_data, manifest):
    entries = [f for f in manifest["files"] if f["kind"] == "vvc" and f["image"] == "eval/kodak24/kodim23.png"]
    assert len(entries) == 4
    codec = get_codec("vvc")
    for entry in entries:
        data = (shared_data / entry["path"]).read_bytes()
        assert detect_codec(data) == "vvc"
        assert slice_qps(data, "vvc") == [entry["qp"]] == [entry["slice_qp"]]
        width, height = entry["lr_size"]
        assert codec.decode(data).shape == (height, width, 3)


@pytest.mark.skipif(bool(shutil.which("vvencFFapp") or shutil.which("vvencapp")), reason="a vvenc encoder is installed")
def test_vvc_encoding_without_vvenc_says_so_and_points_to_the_bitstreams(lr):
    with pytest.raises(CodecUnavailableError, match=r"vvencFFapp.*PyPI.*pre-encoded.*vvc_pairs"):
        get_codec("vvc").encode(lr, 37)


@pytest.mark.skipif(not shutil.which("vvencFFapp"), reason="VVC encoding needs vvencFFapp, not on PyPI")
def test_vvc_encoding_reproduces_the_shipped_bitstream(shared_data, lr):
    shipped = (shared_data / "vvc/eval/kodak24/qp37/kodim23.266").read_bytes()
    assert get_codec("vvc").encode(lr, 37) == shipped


def test_detect_codec_knows_the_containers_and_rejects_others(lr):
    jp2 = io.BytesIO()
    Image.fromarray(lr).save(jp2, format="JPEG2000", quality_mode="rates", quality_layers=[60])  # JP2 boxes
    assert detect_codec(jp2.getvalue()) == "jpeg2000"
    assert detect_codec(bytes(imagecodecs.jpegxl_encode(lr, distance=5, usecontainer=True))) == "jxl"
    png = io.BytesIO()
    Image.fromarray(lr).save(png, format="PNG")
    assert detect_codec(png.getvalue()) is None
    assert detect_codec(b"") is None
    assert detect_codec(lr.tobytes()[:64]) is None


def test_unknown_codec_lists_the_registered_ones():
    with pytest.raises(UnknownCodecError, match=r"unknown codec 'bpg'; registered codecs: jpeg, hevc, vvc"):
        get_codec("bpg")


def test_a_missing_library_names_its_pip_package():
    with pytest.raises(MissingCodecLibraryError, match=r"pip install ucip-no-such-package"):
        require_module("ucip_no_such_module", "ucip-no-such-package", "mycodec")


def test_bad_levels_and_inputs_are_explained(lr):
    with pytest.raises(ValueError, match=r"quality factor in \[1, 100\], got 0"):
        get_codec("jpeg").encode(lr, 0)
    with pytest.raises(ValueError, match=r"QP in \[0, 51\], got 'high'"):
        get_codec("hevc").encode(lr, "high")
    with pytest.raises(ValueError, match=r"RGB uint8 arrays of shape \(H, W, 3\)"):
        get_codec("webp").encode(lr / 255.0, 9)
    with pytest.raises(ValueError, match="even width and height"):
        get_codec("h264").encode(lr[:, :-1], 38)
    with pytest.raises(ValueError, match="hevc"):
        get_codec("hevc").decode(get_codec("jpeg").encode(lr, 10))


class LosslessPng(Codec):
    """A user codec: lossless PNG by Pillow (the level is the zlib compression level)."""

    name = "png-lossless"
    levels = (1, 3, 6, 9)
    implementation = "Pillow PNG"

    def encode(self, rgb, level):
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="PNG", compress_level=level)
        return buffer.getvalue()

    def decode(self, data):
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_a_user_codec_registers_in_one_call(lr):
    register_codec("png-lossless", LosslessPng)
    codec = get_codec("png-lossless")
    assert "png-lossless" in list_codecs()
    assert np.array_equal(codec.decode(codec.encode(lr, 6)), lr)
    with pytest.raises(ValueError, match="already registered"):
        register_codec("png-lossless", LosslessPng)
    register_codec("png-lossless", LosslessPng(), replace=True)
    assert isinstance(get_codec("png-lossless"), LosslessPng)


def test_an_installed_package_adds_a_codec_by_entry_point(tmp_path, monkeypatch, lr):
    (tmp_path / "ucip_test_plugin.py").write_text(
        textwrap.dedent(
            """
            import io
            import numpy as np
            from PIL import Image
            from ucip_adapt.codecs import Codec

            class PluginCodec(Codec):
                name, levels, implementation = "png-plugin", (1, 3, 6, 9), "Pillow PNG"

                def encode(self, rgb, level):
                    buffer = io.BytesIO()
                    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=level)
                    return buffer.getvalue()

                def decode(self, data):
                    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            """
        )
    )
    dist_info = tmp_path / "ucip_test_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: ucip-test-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[ucip_adapt.codecs]\npng-plugin = ucip_test_plugin:PluginCodec\nbroken-plugin = ucip_no_such_plugin:Codec\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # this test's plugins leave with it
    assert {"png-plugin", "broken-plugin"} <= set(list_codecs())
    codec = get_codec("png-plugin")
    assert np.array_equal(codec.decode(codec.encode(lr, 1)), lr)
    with pytest.raises(ImportError, match="entry point 'ucip_no_such_plugin:Codec', which failed to load"):
        get_codec("broken-plugin")  # a broken plugin fails alone, when asked for
    assert get_codec("jpeg").name == "jpeg"


def test_external_command_codec_runs_real_programs(lr, tmp_path):
    script = tmp_path / "jpeg_tool.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from PIL import Image
            mode, source, target = sys.argv[1:4]
            image = Image.open(source).convert("RGB")
            if mode == "encode":
                image.save(target, format="JPEG", quality=int(sys.argv[4]), subsampling="4:2:0")
            else:
                image.save(target, format="PNG")
            """
        )
    )
    codec = get_codec(
        "external",
        name="pyjpeg",
        encode_command=f"{sys.executable} {script} encode {{input}} {{output}} {{level}}",
        decode_command=[sys.executable, str(script), "decode", "{input}", "{output}"],
        levels=(10, 20, 30, 40),
        encoded_suffix=".jpg",
    )
    data = codec.encode(lr, 30)
    assert data == get_codec("jpeg").encode(lr, 30)  # same library, same settings, same bytes
    assert np.array_equal(codec.decode(data), get_codec("jpeg").decode(data))

    missing = ExternalCommandCodec("nothing", "ucip-no-such-program {input} {output}", "cat {input} {output}", (1,))
    with pytest.raises(CodecUnavailableError, match="ucip-no-such-program"):
        missing.encode(lr, 1)
    fail = [sys.executable, "-c", "import sys; sys.exit('boom')", "{input}", "{output}"]
    failing = ExternalCommandCodec("failing", fail, "x {input} {output}", (1,))
    with pytest.raises(RuntimeError, match="boom"):
        failing.encode(lr, 1)
    with pytest.raises(ValueError, match=r"lacks the placeholder\(s\) \{output\}"):
        ExternalCommandCodec("bad", "tool {input}", "tool {input} {output}", (1,))


def test_vvc_encoding_runs_the_documented_command_and_checks_the_slice_qp(shared_data, tmp_path, monkeypatch):
    """No vvenc can be installed here, so a program replaying what vvencFFapp wrote for kodim23 (the
    shipped stream at QP 37) stands in for it: the command must be shared/data/README.md's, in its
    order, on a planar 4:2:0 file of the LR's size; the bytes come back as they are; a stream whose
    slice QP is not the one asked for, or an encoder that fails, is an error naming it."""
    hr = read_image(shared_data / "eval" / "kodak24" / "kodim23.png")
    _, lr = make_clean_pair(hr)
    recorded = shared_data / "vvc" / "eval" / "kodak24" / "qp37" / "kodim23.266"
    program = tmp_path / "bin" / "vvencFFapp"
    program.parent.mkdir()
    program.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, os, shutil, sys
        args = sys.argv[1:]
        yuv = args[args.index("-i") + 1]
        json.dump({{"args": args, "yuv_bytes": os.path.getsize(yuv)}}, open({str(tmp_path / "call.json")!r}, "w"))
        shutil.copy({str(recorded)!r}, args[args.index("-b") + 1])
    """))
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{program.parent}:{os.environ['PATH']}")
    codec = get_codec("vvc")

    assert codec.encode(lr, 37) == recorded.read_bytes()
    call = json.loads((tmp_path / "call.json").read_text())
    height, width = lr.shape[:2]
    yuv, bitstream = call["args"][2], call["args"][-1]
    documented = (f"--preset=medium -i {yuv} --SourceWidth={width} --SourceHeight={height} --InputBitDepth=8 "
                  "--InputChromaFormat=420 --FrameRate=1 --FramesToBeEncoded=1 --IntraPeriod=1 --DecodingRefreshType=idr "
                  f"--QP=37 --IntraQPOffset=0 --PerceptQPA=0 --Threads=1 -b {bitstream}").split()
    assert call["args"] == documented and call["yuv_bytes"] == width * height * 3 // 2
    with pytest.raises(RuntimeError, match=r"coded slice QP \[37\] instead of 42"):
        codec.encode(lr, 42)
    program.write_text(f"#!{sys.executable}\nimport sys\nsys.stderr.write('vvenc: cannot open input')\nsys.exit(3)\n")
    with pytest.raises(RuntimeError, match=r"exit code 3\):\nvvenc: cannot open input"):
        codec.encode(lr, 37)
