"""Fidelity metrics: PSNR and SSIM (Y, RGB, or the protocol's channel), spherical and stereo.

Protocol keys they read: ``channel`` ('y' | 'rgb' | 'gray'), ``crop`` (border pixels removed),
``gray`` ('gray' | 'rgb3', see :mod:`repro.metrics.fidelity`), ``ssim`` (the SSIM kind,
'matlab' | 'skimage') and, for stereo pairs, ``stereo`` ('pair_mean' | 'left_crop64').
"""

from __future__ import annotations

import math

from repro.metrics import fidelity, spherical
from repro.metrics.spec import MetricKind, MetricSpec
from repro.metrics.stereo import split_pair, stereo_scores

_PLAIN = {"channel": "channel", "crop": "crop", "gray": "gray"}
_FIXED_CHANNEL = {"crop": "crop", "gray": "gray"}
_PSNR_RANGE = (0.0, math.inf)
_SSIM_RANGE = (-1.0, 1.0)


def _stereo_psnr(sr, hr, *, stereo: str = "pair_mean") -> float:
    (sl, sr_), (hl, hr_) = split_pair(sr, "SR stereo pair"), split_pair(hr, "HR stereo pair")
    return stereo_scores(sl, sr_, hl, hr_, protocol=stereo)["psnr"]


def _stereo_ssim(sr, hr, *, stereo: str = "pair_mean", kind: str = "skimage") -> float:
    (sl, sr_), (hl, hr_) = split_pair(sr, "SR stereo pair"), split_pair(hr, "HR stereo pair")
    return stereo_scores(sl, sr_, hl, hr_, protocol=stereo, ssim_kind=kind)["ssim"]


def _fidelity(name: str, impl, description: str, keys: dict, fixed: dict | None = None):
    """PSNR-like entries are in dB with 3 decimals; SSIM-like ones unitless with 4."""
    is_ssim = "ssim" in name
    return MetricSpec(
        name,
        MetricKind.FIDELITY,
        True,
        _SSIM_RANGE if is_ssim else _PSNR_RANGE,
        description,
        impl=impl,
        protocol_keys=keys,
        fixed=fixed or {},
        decimals=4 if is_ssim else 3,
        unit="" if is_ssim else "dB",
    )


METRICS = (
    _fidelity(
        "psnr",
        fidelity.psnr,
        "PSNR (dB, peak 255); channel, crop and gray policy from the protocol (default Y)",
        _PLAIN,
    ),
    _fidelity(
        "ssim",
        fidelity.ssim,
        "SSIM, mean over channels; channel/crop/gray and kind (protocol key 'ssim': 'matlab' "
        "Gaussian 11x11 valid, or 'skimage' 7x7 uniform) from the protocol",
        {**_PLAIN, "ssim": "kind"},
    ),
    _fidelity(
        "psnr_y",
        fidelity.psnr,
        "PSNR on BT.601 Y (MATLAB rgb2ycbcr, float), crop/gray from the protocol",
        _FIXED_CHANNEL,
        {"channel": "y"},
    ),
    _fidelity(
        "ssim_y",
        fidelity.ssim,
        "SSIM on BT.601 Y (MATLAB ssim_index by default), crop/gray/kind from the protocol",
        {**_FIXED_CHANNEL, "ssim": "kind"},
        {"channel": "y"},
    ),
    _fidelity(
        "psnr_rgb",
        fidelity.psnr,
        "PSNR over the RGB channels, crop/gray from the protocol",
        _FIXED_CHANNEL,
        {"channel": "rgb"},
    ),
    _fidelity(
        "ssim_rgb",
        fidelity.ssim,
        "SSIM averaged over the RGB channels, crop/gray/kind from the protocol",
        {**_FIXED_CHANNEL, "ssim": "kind"},
        {"channel": "rgb"},
    ),
    _fidelity(
        "ws_psnr",
        spherical.ws_psnr,
        "WS-PSNR of equirectangular images (rows weighted by cos latitude); default RGB",
        _PLAIN,
    ),
    _fidelity(
        "ws_ssim",
        spherical.ws_ssim,
        "WS-SSIM of equirectangular images (SSIM map rows weighted); default RGB",
        _PLAIN,
    ),
    _fidelity(
        "stereo_psnr",
        _stereo_psnr,
        "stereo PSNR of (H, W, 6) pairs, RGB crop 0: protocol key 'stereo' = 'pair_mean' (mean "
        "of both views) or 'left_crop64' (left view minus its first 64 columns)",
        {"stereo": "stereo"},
    ),
    _fidelity(
        "stereo_ssim",
        _stereo_ssim,
        "stereo SSIM of (H, W, 6) pairs: NAFSSR's skimage SSIM on the 6-channel pair by default "
        "(protocol key 'ssim'), protocol key 'stereo' as for stereo_psnr",
        {"stereo": "stereo", "ssim": "kind"},
    ),
)
