"""WS-PSNR / WS-SSIM against the OSRT/CAMixerSR oracle (../shared/oracles/README.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from repro.imageio import read_image
from repro.metrics import fidelity, get_metric, psnr
from repro.metrics.spherical import erp_row_weights, ws_psnr, ws_ssim
from repro.paths import shared_root

ERP = shared_root() / "oracles" / "calibration" / "erp"


@pytest.fixture(scope="module")
def erp():
    if not ERP.is_dir():
        pytest.skip("../shared/oracles not available")
    gt = read_image(ERP / "erp_gt_64x128.png")
    sr = read_image(ERP / "erp_sr_64x128.png")
    return sr, gt


@pytest.mark.parametrize(
    "channel, want_psnr, want_ssim",
    [("rgb", 35.875502, 0.998377), ("y", 40.590762, 0.998329)],
)
def test_erp_oracles(erp, channel, want_psnr, want_ssim):
    sr, gt = erp
    assert ws_psnr(sr, gt, channel=channel) == pytest.approx(want_psnr, abs=1e-4)
    assert ws_ssim(sr, gt, channel=channel) == pytest.approx(want_ssim, abs=1e-5)
    protocol = {"channel": channel, "crop": 0, "ssim": "skimage"}  # ssim kind: not read
    assert get_metric("ws_psnr").fn(sr, gt, **protocol) == ws_psnr(sr, gt, channel=channel)
    assert get_metric("ws_ssim").fn(sr, gt, **protocol) == ws_ssim(sr, gt, channel=channel)


def _official_ws_psnr(img, img2):
    """The OSRT/CAMixerSR formula written plainly (mean(w * err^2) / mean(w))."""
    h = img.shape[0]
    w = np.array([math.cos((i - h / 2 + 0.5) * math.pi / h) for i in range(h)])
    wmap = np.broadcast_to(w[:, None, None], img.shape)
    err = (img.astype(np.float64) - img2.astype(np.float64)) ** 2
    return 10 * math.log10(255.0**2 / (np.mean(err * wmap) / np.mean(wmap)))


def test_ws_psnr_formula_and_crop(erp):
    sr, gt = erp
    assert ws_psnr(sr, gt) == pytest.approx(_official_ws_psnr(sr, gt), abs=1e-10)
    # the weights follow the image after cropping
    c = 3
    want = _official_ws_psnr(sr[c:-c, c:-c], gt[c:-c, c:-c])
    assert ws_psnr(sr, gt, crop=c) == pytest.approx(want, abs=1e-10)
    w = erp_row_weights(4)
    np.testing.assert_allclose(w, np.cos(np.array([-1.5, -0.5, 0.5, 1.5]) * np.pi / 4))


def test_ws_identical_and_uniform_rows(erp, monkeypatch):
    _, gt = erp
    assert ws_psnr(gt, gt) == math.inf
    assert ws_ssim(gt, gt) == pytest.approx(1.0, abs=1e-12)
    # an error that is the same on every row: the weights cancel, WS-PSNR == PSNR
    hr = np.full((32, 48, 3), 100, dtype=np.uint8)
    sr = hr.copy()
    sr[:, ::5] += 3
    assert ws_psnr(sr, hr) == pytest.approx(psnr(sr, hr, channel="rgb"), abs=1e-10)
    # banded computation equals the single pass
    sr_img = erp[0]
    whole = ws_ssim(sr_img, gt, channel="y")
    monkeypatch.setattr(fidelity, "_BAND_ELEMENTS", 500)
    monkeypatch.setattr(fidelity, "_MIN_BAND_ROWS", 5)
    assert ws_ssim(sr_img, gt, channel="y") == pytest.approx(whole, abs=1e-12)
