"""Stereo SR scores as NAFSSR's official code computes them (RGB, crop 0).

What the official NAFNet repository does (``basicsr/metrics/psnr_ssim.py``, test options
``options/test/NAFSSR/*.yml``: metrics ``calculate_psnr`` with ``crop_border: 0,
test_y_channel: false`` and ``calculate_skimage_ssim``):

- The model output and the ground truth are ``uint8`` ``(H, W, 6)`` arrays (left view in
  channels 0-2, right view in 3-5; BGR order from ``tensor2img``, which changes nothing here).
- PSNR: for six channels, ``(psnr(left) + psnr(right)) / 2``, each over its three channels.
  (The official ``_psnr`` takes peak 1 when ``img1.max() <= 1``, which never happens for
  uint8 images of real scenes; this module always uses 255.)
- SSIM: ``skimage.metrics.structural_similarity(img1, img2, multichannel=True)`` on the
  6-channel uint8 pair: defaults, i.e. 7x7 uniform window, sample covariance, K1 = 0.01,
  K2 = 0.03, ``data_range`` = 255 (inferred from uint8), the map cropped by 3 pixels, mean
  per channel, then the mean over the 6 channels, which equals the mean of the two views'
  3-channel SSIMs. Newer scikit-image spells ``multichannel=True`` as ``channel_axis=-1``.
- The "left" variants (``calculate_psnr_left``, ``calculate_skimage_ssim_left``) keep
  ``img[:, 64:, :3]``: the left view without its first 64 columns (the area with no
  counterpart in the right view).

``ssim_kind='matlab'`` swaps in the MATLAB-style SSIM (Gaussian 11x11, valid) for papers that
use it, averaged over the views the same way.
"""

from __future__ import annotations

import numpy as np

from repro.errors import DataError
from repro.metrics.fidelity import PEAK, as_hwc, check_choice, psnr, ssim

STEREO_PROTOCOLS = ("pair_mean", "left_crop64")
STEREO_SSIM_KINDS = ("skimage", "matlab")
LEFT_CROP = 64  # columns dropped from the left view by the "left" protocol


def _view(img, what: str) -> np.ndarray:
    arr = as_hwc(img, what)
    if arr.shape[2] != 3:
        raise DataError(f"{what} must be an RGB view (H, W, 3), got shape {arr.shape}")
    return arr


def _check_same(sr: np.ndarray, hr: np.ndarray, what: str) -> None:
    if sr.shape != hr.shape:
        raise DataError(
            f"SR and HR {what} views differ in size: SR {sr.shape} vs HR {hr.shape} (H, W, C)"
        )


def stereo_scores(
    sr_left,
    sr_right,
    hr_left,
    hr_right,
    *,
    protocol: str = "pair_mean",
    ssim_kind: str = "skimage",
) -> dict[str, float]:
    """PSNR and SSIM of one stereo pair: ``{'psnr': ..., 'ssim': ...}``.

    ``protocol='pair_mean'``: mean of the left and right views' scores (RGB, crop 0).
    ``protocol='left_crop64'``: the left view only, without its first 64 columns (the right
    views are ignored and may be None).
    """
    check_choice(protocol, STEREO_PROTOCOLS, "stereo protocol")
    check_choice(ssim_kind, STEREO_SSIM_KINDS, "stereo SSIM kind")
    sl, hl = _view(sr_left, "SR left"), _view(hr_left, "HR left")
    _check_same(sl, hl, "left")
    if protocol == "left_crop64":
        if sl.shape[1] <= LEFT_CROP:
            raise DataError(
                f"the left_crop64 protocol needs views wider than {LEFT_CROP} pixels, "
                f"got {sl.shape[1]}"
            )
        sl, hl = sl[:, LEFT_CROP:], hl[:, LEFT_CROP:]
        window = 7 if ssim_kind == "skimage" else 11
        if min(sl.shape[:2]) < window:
            raise DataError(
                f"the left_crop64 protocol leaves {sl.shape[1]}x{sl.shape[0]} pixels of the left "
                f"view, smaller than the {window}x{window} SSIM window; score larger views"
            )
        return {
            "psnr": psnr(sl, hl, channel="rgb", crop=0),
            "ssim": ssim(sl, hl, channel="rgb", crop=0, kind=ssim_kind),
        }
    sr_r, hr_r = _view(sr_right, "SR right"), _view(hr_right, "HR right")
    _check_same(sr_r, hr_r, "right")
    p = (psnr(sl, hl, channel="rgb") + psnr(sr_r, hr_r, channel="rgb")) / 2.0
    if ssim_kind == "skimage":
        s = _skimage_ssim6(sl, sr_r, hl, hr_r)
    else:
        s_left = ssim(sl, hl, channel="rgb", kind="matlab")
        s = (s_left + ssim(sr_r, hr_r, channel="rgb", kind="matlab")) / 2.0
    return {"psnr": float(p), "ssim": float(s)}


VIEWS = ("left", "right")  # channels 0-2 and 3-5 of a (H, W, 6) pair


def view_scores(
    sr_view, hr_view, view: str, *, protocol: str = "pair_mean", ssim_kind: str = "skimage"
) -> dict[str, float]:
    """One view's share of a pair score, for frames with one row per view.

    ``pair_mean``: the view's own PSNR and SSIM (RGB, crop 0); the pair value is the mean of the
    two views' values (for NAFSSR's 6-channel SSIM too: it averages per-channel SSIMs), so the
    mean over all view rows of a set equals the mean over its pairs. ``left_crop64``: the left
    view without its first 64 columns; NaN for the right view, which that protocol ignores.
    """
    check_choice(protocol, STEREO_PROTOCOLS, "stereo protocol")
    check_choice(ssim_kind, STEREO_SSIM_KINDS, "stereo SSIM kind")
    check_choice(view, VIEWS, "stereo view")
    sr, hr = _view(sr_view, f"SR {view}"), _view(hr_view, f"HR {view}")
    _check_same(sr, hr, view)
    if protocol == "left_crop64":
        if view == "right":
            return {"psnr": float("nan"), "ssim": float("nan")}
        return stereo_scores(sr, None, hr, None, protocol=protocol, ssim_kind=ssim_kind)
    if ssim_kind == "skimage":
        from skimage.metrics import structural_similarity

        if min(sr.shape[:2]) < 7:
            raise DataError(
                f"{view} views of {sr.shape[:2]} pixels are smaller than the 7x7 window"
            )
        s = structural_similarity(sr, hr, channel_axis=2, data_range=PEAK)
    else:
        s = ssim(sr, hr, channel="rgb", crop=0, kind="matlab")
    return {"psnr": float(psnr(sr, hr, channel="rgb", crop=0)), "ssim": float(s)}


def _skimage_ssim6(sr_left, sr_right, hr_left, hr_right) -> float:
    """NAFSSR's ``calculate_skimage_ssim`` on the 6-channel concatenation, literally."""
    from skimage.metrics import structural_similarity

    if sr_left.shape[:2] != sr_right.shape[:2]:
        raise DataError(
            f"left and right views differ in size: {sr_left.shape} vs {sr_right.shape}; "
            "the 6-channel SSIM of the pair needs views of one size"
        )
    if min(sr_left.shape[:2]) < 7:
        raise DataError(f"views of {sr_left.shape[:2]} pixels are smaller than the 7x7 window")
    sr6 = np.concatenate([sr_left, sr_right], axis=2)
    hr6 = np.concatenate([hr_left, hr_right], axis=2)
    return float(structural_similarity(sr6, hr6, channel_axis=2, data_range=PEAK))


def split_pair(img, what: str = "stereo image") -> tuple[np.ndarray, np.ndarray]:
    """Split a ``(H, W, 6)`` stereo array (left in channels 0-2) into its two views."""
    arr = as_hwc(img, what)
    if arr.shape[2] != 6:
        raise DataError(
            f"{what} must be a (H, W, 6) left+right array, got shape {arr.shape}; "
            "concatenate the views with np.concatenate([left, right], axis=2)"
        )
    return arr[:, :, :3], arr[:, :, 3:]
