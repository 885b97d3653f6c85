"""Score one SR output against its HR under a protocol (channel, crop, gray, SSIM kind, views)."""

from __future__ import annotations

import numpy as np

from repro.errors import ReproError

STEREO_VARIANTS = ("pair_mean", "left_crop64")


def match_gray(sr: np.ndarray, hr: np.ndarray, gray: str) -> np.ndarray:
    """A learned model turns a one-channel image into three; the 'gray' protocol scores one.

    Under ``gray: gray`` the SR is reduced to one channel by the rounded channel mean (its
    three channels are near-identical for a replicated gray input). Under ``rgb3`` the HR is
    replicated by the metric instead.
    """
    if gray == "gray" and hr.shape[2] == 1 and sr.shape[2] == 3:
        return np.round(sr.astype(np.float64).mean(axis=2, keepdims=True)).astype(np.uint8)
    return sr


def score(
    sr: np.ndarray,
    hr: np.ndarray | None,
    metrics: list[tuple[str, str | None]],
    protocol: dict,
    crop: int,
    view: str | None = None,
) -> dict[str, float]:
    """Values for ``(metric, variant)`` pairs, keyed ``metric`` or ``metric@variant``.

    Without ground truth (LR-only sets) only no-reference metrics are computed; full-reference
    ones are left out of the row. ``view`` ('left' or 'right') marks ``sr``/``hr`` as one view
    of a stereo pair (see :func:`score_views`); stereo variants then score that view's share.
    """
    from repro.metrics import get_metric
    from repro.metrics.stereo import stereo_scores, view_scores

    if hr is not None and sr.shape[:2] != hr.shape[:2]:
        raise ReproError(
            f"output {sr.shape[1]}x{sr.shape[0]} differs from HR {hr.shape[1]}x{hr.shape[0]}; "
            "the model's scale does not match the dataset's"
        )
    if hr is not None:
        sr = match_gray(sr, hr, protocol.get("gray", "rgb3"))
    kwargs = {  # every metric reads the protocol keys it knows and ignores the rest
        **protocol,
        "channel": protocol.get("channel", "y"),
        "crop": crop,
        "gray": protocol.get("gray", "rgb3"),
        "ssim": protocol.get("ssim", "matlab"),
    }
    out: dict[str, float] = {}
    stereo_cache: dict[str, dict] = {}
    for metric, variant in metrics:
        key = f"{metric}@{variant}" if variant else metric
        if variant in STEREO_VARIANTS:
            if hr is None:
                continue
            if variant not in stereo_cache:
                if view is None:
                    stereo_cache[variant] = stereo_scores(
                        sr[..., :3],
                        sr[..., 3:],
                        hr[..., :3],
                        hr[..., 3:],
                        protocol=variant,
                        ssim_kind=kwargs["ssim"],
                    )
                else:
                    stereo_cache[variant] = view_scores(
                        sr, hr, view, protocol=variant, ssim_kind=kwargs["ssim"]
                    )
            out[key] = float(stereo_cache[variant][metric])
            continue
        spec = get_metric(metric)
        if not spec.needs_reference:
            out[key] = float(spec.fn(sr, **kwargs))
        elif hr is not None:
            out[key] = float(spec.fn(sr, hr, **kwargs))
    return out


def score_views(
    sr: np.ndarray,
    hr: np.ndarray | None,
    metrics: list[tuple[str, str | None]],
    protocol: dict,
    crop: int,
) -> list[dict]:
    """One row per view of a (H, W, 6) stereo pair, each with a ``view`` key.

    Stereo variants give each view its share of the pair score (the mean over a set's view
    rows equals the mean over its pairs); other metrics score each view as an image.
    """
    from repro.metrics.stereo import VIEWS

    rows = []
    for i, view in enumerate(VIEWS):
        part = slice(3 * i, 3 * i + 3)
        hr_view = None if hr is None else hr[..., part]
        rows.append({"view": view, **score(sr[..., part], hr_view, metrics, protocol, crop, view)})
    return rows
