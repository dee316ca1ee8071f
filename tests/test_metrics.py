"""PSNR/SSIM in the SR convention: golden values against scikit-image with matching settings."""

import numpy as np
import pytest
import skimage.data
from PIL import Image
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ucip_adapt.codecs import get_codec
from ucip_adapt.image_io import read_image
from ucip_adapt.metrics import load_sr_metric, psnr_rgb, psnr_y, rgb_to_y, ssim_y


def bicubic_x4_round_trip(rgb: np.ndarray) -> np.ndarray:
    """A realistic SR-like estimate: bicubic down x4 and back up."""
    height, width = rgb.shape[:2]
    small = Image.fromarray(rgb).resize((width // 4, height // 4), Image.BICUBIC)
    return np.asarray(small.resize((width, height), Image.BICUBIC))


@pytest.fixture(scope="module")
def pairs(shared_data):
    """(estimate, reference) pairs from real photos: a bicubic round trip and a JPEG decode."""
    astronaut = skimage.data.astronaut()
    kodim = read_image(shared_data / "eval/kodak24/kodim03.png")[:256, :384]
    jpeg = get_codec("jpeg")
    return [
        (bicubic_x4_round_trip(astronaut), astronaut),
        (jpeg.decode(jpeg.encode(kodim, 20)), kodim),
    ]


def test_psnr_and_ssim_match_scikit_image_with_the_sr_settings(pairs):
    for estimate, reference in pairs:
        crop = (slice(4, -4), slice(4, -4))
        y_estimate, y_reference = rgb2ycbcr(estimate)[crop][..., 0], rgb2ycbcr(reference)[crop][..., 0]
        expected_psnr_y = peak_signal_noise_ratio(y_reference, y_estimate, data_range=255)
        expected_ssim_y = structural_similarity(
            y_reference, y_estimate, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
        )
        expected_psnr_rgb = peak_signal_noise_ratio(reference[crop], estimate[crop], data_range=255)
        assert psnr_y(estimate, reference) == pytest.approx(expected_psnr_y, abs=1e-10)
        assert ssim_y(estimate, reference) == pytest.approx(expected_ssim_y, abs=1e-12)
        assert psnr_rgb(estimate, reference) == pytest.approx(expected_psnr_rgb, abs=1e-10)


def test_golden_values_on_the_astronaut(pairs):
    estimate, reference = pairs[0]
    assert psnr_y(estimate, reference) == pytest.approx(26.838150655262393, abs=1e-9)
    assert ssim_y(estimate, reference) == pytest.approx(0.8427130420920853, abs=1e-12)
    assert psnr_rgb(estimate, reference) == pytest.approx(25.336592642341845, abs=1e-9)


def test_y_channel_is_bt601_limited_range():
    image = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], dtype=np.uint8)
    assert rgb_to_y(image)[0].tolist() == pytest.approx([16.0, 235.0, 16 + 65.481])


def test_border_crop_ignores_the_border_and_identical_images_are_perfect():
    reference = skimage.data.coffee()[:64, :64]
    estimate = reference.copy()
    estimate[:4] = 0  # damage only the 4-pixel border
    assert psnr_y(estimate, reference) == float("inf")
    assert psnr_rgb(estimate, reference) == float("inf")
    assert ssim_y(estimate, reference) == pytest.approx(1.0)
    assert psnr_y(estimate, reference, crop_border=0) < 40


def test_inputs_must_be_uint8_rgb_of_the_same_shape():
    reference = skimage.data.coffee()[:32, :32]
    with pytest.raises(ValueError, match="uint8"):
        psnr_y(reference / 255.0, reference)
    with pytest.raises(ValueError, match="differ in shape"):
        ssim_y(reference[:16], reference)
    with pytest.raises(ValueError, match="crop_border"):
        psnr_rgb(reference, reference, crop_border=16)


def test_evaluate_metric_loads_offline_from_the_package_and_gives_the_same_numbers(pairs):
    metric = load_sr_metric()
    for estimate, reference in pairs:
        metric.add(predictions=estimate, references=reference)
    result = metric.compute()
    assert result["psnr_y"] == pytest.approx(np.mean([psnr_y(e, r) for e, r in pairs]), abs=1e-12)
    assert result["ssim_y"] == pytest.approx(np.mean([ssim_y(e, r) for e, r in pairs]), abs=1e-12)
    assert result["psnr_rgb"] == pytest.approx(np.mean([psnr_rgb(e, r) for e, r in pairs]), abs=1e-12)
    assert metric.compute(predictions=[pairs[0][0]], references=[pairs[0][1]], crop_border=0)["psnr_y"] == (
        pytest.approx(psnr_y(*pairs[0], crop_border=0), abs=1e-12)
    )
