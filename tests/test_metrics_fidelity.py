"""PSNR/SSIM against the oracles in ../shared/oracles/README.md, plus protocol edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from repro.errors import DataError, UnknownNameError
from repro.imageio import read_image
from repro.metrics import fidelity, get_metric, prepare, psnr, ssim
from repro.metrics.color import rgb_to_gray_matlab, rgb_to_y
from repro.metrics.stereo import stereo_scores
from repro.paths import shared_root

CAL = shared_root() / "oracles" / "calibration"
PSNR_TOL, SSIM_TOL = 1e-4, 1e-5  # baboon oracles (MATLAB / BasicSR)
TID_PSNR_TOL, TID_SSIM_TOL = 0.01, 1e-3  # TID2013 oracles are rounded

needs_shared = pytest.mark.skipif(not CAL.is_dir(), reason="../shared/oracles not available")


@pytest.fixture(scope="module")
def baboon():
    gt = read_image(CAL / "baboon" / "baboon_gt.png")
    sr = read_image(CAL / "baboon" / "baboon_lr_uint8_then_up.png")
    return sr, gt


@needs_shared
@pytest.mark.parametrize(
    "channel, want_psnr, want_ssim",
    [("rgb", 20.419710, 0.391853), ("y", 22.441898, 0.453097)],
)
def test_baboon_oracles(baboon, channel, want_psnr, want_ssim):
    sr, gt = baboon
    assert psnr(sr, gt, channel=channel, crop=4) == pytest.approx(want_psnr, abs=PSNR_TOL)
    assert ssim(sr, gt, channel=channel, crop=4) == pytest.approx(want_ssim, abs=SSIM_TOL)


TID = {  # name: (PSNR RGB crop 0 via scikit-image, MATLAB ssim on rgb2gray)
    "I03": (21.11, 0.6993),
    "I04": (20.99, 0.9978),
    "I06": (27.01, 0.9989),
    "I08": (23.30, 0.9669),
    "I19": (21.62, 0.6519),
}


@needs_shared
@pytest.mark.parametrize("name", sorted(TID))
def test_tid2013_oracles(name):
    ref = read_image(CAL / "tid2013" / "ref" / f"{name}.bmp")
    dist = read_image(CAL / "tid2013" / "dist" / f"{name}.bmp")
    want_psnr, want_ssim = TID[name]
    assert psnr(dist, ref, channel="rgb") == pytest.approx(want_psnr, abs=TID_PSNR_TOL)
    assert ssim(dist, ref, channel="gray") == pytest.approx(want_ssim, abs=TID_SSIM_TOL)


def _rand(shape, seed=0, lo=0, hi=256):
    return np.random.default_rng(seed).integers(lo, hi, size=shape, dtype=np.uint8)


def test_identical_images():
    img = _rand((40, 50, 3))
    for channel in ("y", "rgb", "gray"):
        assert psnr(img, img, channel=channel) == math.inf
        assert ssim(img, img, channel=channel) == pytest.approx(1.0, abs=1e-12)
        assert ssim(img, img, channel=channel, kind="skimage") == pytest.approx(1.0, abs=1e-12)


def test_psnr_formula_no_eps():
    hr = _rand((30, 30, 3), lo=10, hi=240)
    sr = hr.copy()
    sr[0, 0, 0] += 1  # MSE = 1 / 2700 on RGB
    assert psnr(sr, hr, channel="rgb") == pytest.approx(10 * math.log10(255**2 * 2700), abs=1e-9)


def test_shape_mismatch_raises():
    a, b = _rand((32, 32, 3)), _rand((32, 30, 3))
    for fn in (psnr, ssim):
        with pytest.raises(DataError, match=r"\(32, 32, 3\).*\(32, 30, 3\)"):
            fn(a, b)
    with pytest.raises(DataError):
        psnr(_rand((32, 32, 3)), _rand((32, 32, 4)))
    with pytest.raises(DataError, match="crop"):
        psnr(a, a, crop=16)
    with pytest.raises(DataError, match="11x11"):
        ssim(_rand((10, 40, 3)), _rand((10, 40, 3)))
    with pytest.raises(UnknownNameError, match="did you mean"):
        psnr(a, a, channel="rbg")
    with pytest.raises(UnknownNameError):
        ssim(a, a, kind="matlb")


def test_color_conversions():
    px = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0]]], dtype=np.uint8)
    y = rgb_to_y(px)
    assert y.shape == (1, 3) and y.dtype == np.float64
    np.testing.assert_allclose(y[0], [235.0, 16.0, 16 + 65.481], atol=1e-12)
    g = rgb_to_gray_matlab(px)
    assert g.dtype == np.uint8 and g.tolist() == [[255, 0, 76]]  # round(76.2287)


def test_skimage_kind_matches_structural_similarity():
    from skimage.metrics import structural_similarity

    hr = _rand((40, 44, 3), seed=1)
    sr = np.clip(hr.astype(int) + _rand((40, 44, 3), seed=2, hi=20) - 10, 0, 255).astype(np.uint8)
    want = structural_similarity(sr, hr, channel_axis=2, data_range=255)
    assert ssim(sr, hr, channel="rgb", kind="skimage") == pytest.approx(want, abs=1e-12)


def test_bands_equal_single_pass(baboon, monkeypatch):
    sr, gt = baboon
    whole = (psnr(sr, gt, channel="rgb", crop=4), ssim(sr, gt, channel="y", crop=4))
    monkeypatch.setattr(fidelity, "_BAND_ELEMENTS", 1000)
    monkeypatch.setattr(fidelity, "_MIN_BAND_ROWS", 7)  # many uneven bands
    banded = (psnr(sr, gt, channel="rgb", crop=4), ssim(sr, gt, channel="y", crop=4))
    assert banded == pytest.approx(whole, abs=1e-12)


@pytest.fixture(scope="module")
def bridge():
    path = shared_root() / "data" / "Set14" / "HR" / "bridge.png"
    if not path.is_file():
        pytest.skip("Set14 bridge not available")
    hr = read_image(path)
    blurred = np.clip(np.round(gaussian_filter(hr.astype(np.float64), (1.2, 1.2, 0))), 0, 255)
    return blurred.astype(np.uint8), hr


def test_gray_policy_on_one_channel_image(bridge):
    sr, hr = bridge
    assert hr.shape[2] == 1
    assert prepare(hr, channel="y", gray="gray").shape[2] == 1
    np.testing.assert_array_equal(prepare(hr, channel="y", gray="gray")[..., 0], hr[..., 0])
    gray_way = psnr(sr, hr, channel="y", crop=3, gray="gray")
    basicsr_way = psnr(sr, hr, channel="y", crop=3, gray="rgb3")
    # Y of three equal channels v is 16 + 219/255 v: errors shrink by 219/255, PSNR rises 1.32 dB
    assert basicsr_way - gray_way == pytest.approx(20 * math.log10(255 / 219), abs=1e-9)
    # on RGB the two ways agree (three copies of the same errors)
    assert psnr(sr, hr, channel="rgb", gray="gray") == pytest.approx(
        psnr(sr, hr, channel="rgb", gray="rgb3"), abs=1e-12
    )
    s_gray = ssim(sr, hr, channel="y", crop=3, gray="gray")
    s_rgb3 = ssim(sr, hr, channel="y", crop=3, gray="rgb3")
    assert abs(s_gray - s_rgb3) > 1e-4
    # a model's 3-channel output of identical channels counts as the gray image under 'gray'
    sr3 = np.repeat(sr, 3, axis=2)
    assert psnr(sr3, hr, channel="y", crop=3, gray="gray") == gray_way
    assert psnr(sr3, hr, channel="y", crop=3, gray="rgb3") == basicsr_way
    sr3[0, 0, 1] ^= 1
    with pytest.raises(DataError, match="rgb3"):
        psnr(sr3, hr, channel="y", gray="gray")


def test_registry_protocol_and_names(baboon):
    sr, gt = baboon
    protocol = {"channel": "y", "crop": 4, "gray": "rgb3", "ssim": "matlab", "scale": 4}
    assert get_metric("psnr").fn(sr, gt, **protocol) == psnr(sr, gt, channel="y", crop=4)
    assert get_metric("PSNR_RGB").fn(sr, gt, **protocol) == psnr(sr, gt, channel="rgb", crop=4)
    assert get_metric("ssim_y").fn(sr, gt, channel="rgb", crop=4) == ssim(
        sr, gt, channel="y", crop=4
    )
    assert get_metric("ssim").fn(sr, gt, channel="rgb", ssim="skimage") == ssim(
        sr, gt, channel="rgb", kind="skimage"
    )
    spec = get_metric("ws_psnr")
    assert spec.higher_is_better and spec.kind == "fidelity" and spec.range[0] == 0
    assert spec.needs_reference and spec.unit == "dB"
    with pytest.raises(UnknownNameError, match="did you mean psnr_y"):
        get_metric("psnr-y")


def _stereo_pair():
    rng = np.random.default_rng(3)
    hl = rng.integers(10, 240, size=(40, 100, 3), dtype=np.uint8)
    hr = rng.integers(10, 240, size=(40, 100, 3), dtype=np.uint8)
    sl, sr = hl.copy(), hr + 5  # right view: every pixel off by 5 -> MSE 25
    sl[:, :64] += 5  # left view: error only in its first 64 columns -> MSE 25 * 64 / 100
    return sl, sr, hl, hr


def test_stereo_left_crop64():
    sl, sr, hl, hr = _stereo_pair()
    for kind in ("skimage", "matlab"):
        got = stereo_scores(sl, sr, hl, hr, protocol="left_crop64", ssim_kind=kind)
        assert got["psnr"] == math.inf
        assert got["ssim"] == pytest.approx(1.0, abs=1e-12)
    got = stereo_scores(sl, None, hl, None, protocol="left_crop64")
    assert got["psnr"] == math.inf


def test_stereo_pair_mean():
    from skimage.metrics import structural_similarity

    sl, sr, hl, hr = _stereo_pair()
    got = stereo_scores(sl, sr, hl, hr, protocol="pair_mean")
    p_left = 10 * math.log10(255**2 / (25 * 64 / 100))
    p_right = 10 * math.log10(255**2 / 25)
    assert got["psnr"] == pytest.approx((p_left + p_right) / 2, abs=1e-9)
    # NAFSSR: skimage defaults on the 6-channel uint8 pair == mean of the views' SSIMs
    sr6, hr6 = np.concatenate([sl, sr], axis=2), np.concatenate([hl, hr], axis=2)
    assert got["ssim"] == pytest.approx(structural_similarity(sr6, hr6, channel_axis=2), abs=1e-12)
    views = [ssim(a, b, channel="rgb", kind="skimage") for a, b in ((sl, hl), (sr, hr))]
    assert got["ssim"] == pytest.approx(sum(views) / 2, abs=1e-12)
    mat = stereo_scores(sl, sr, hl, hr, ssim_kind="matlab")["ssim"]
    assert mat == pytest.approx(
        (ssim(sl, hl, channel="rgb") + ssim(sr, hr, channel="rgb")) / 2, abs=1e-12
    )
    assert get_metric("stereo_psnr").fn(sr6, hr6, stereo="pair_mean") == got["psnr"]
    assert get_metric("stereo_ssim").fn(sr6, hr6, stereo="left_crop64") == pytest.approx(1.0)
    with pytest.raises(DataError, match="differ"):
        stereo_scores(sl, sr[:, :90], hl, hr)
    with pytest.raises(UnknownNameError):
        stereo_scores(sl, sr, hl, hr, protocol="left")
