"""Metrics: one registry (:mod:`repro.metrics.registry`) over fidelity, spherical, stereo,
perceptual, no-reference and cost metrics; each metric's facts live on its MetricSpec.

Typical use::

    from repro.metrics import get_metric
    spec = get_metric("psnr")
    value = spec.fn(sr, hr, channel="y", crop=4, gray="rgb3")  # unknown protocol keys ignored

or call the functions directly: :func:`psnr`, :func:`ssim`, :func:`ws_psnr`, :func:`ws_ssim`,
:func:`stereo_scores`.
"""

from repro.metrics.color import rgb_to_gray_matlab, rgb_to_y
from repro.metrics.fidelity import prepare, psnr, ssim
from repro.metrics.registry import all_metrics, get_metric
from repro.metrics.spec import MetricKind, MetricSpec
from repro.metrics.spherical import ws_psnr, ws_ssim
from repro.metrics.stereo import stereo_scores

__all__ = [
    "MetricKind",
    "MetricSpec",
    "all_metrics",
    "get_metric",
    "prepare",
    "psnr",
    "rgb_to_gray_matlab",
    "rgb_to_y",
    "ssim",
    "stereo_scores",
    "ws_psnr",
    "ws_ssim",
]
