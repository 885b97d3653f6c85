"""Evaluation outside a table: one model on one dataset (``repro eval``) and metrics on image
files (``repro score``). The policy lives here; the CLI only parses and prints."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from repro.data.dataset import Dataset
from repro.data.schema import Card
from repro.errors import ReproError
from repro.eval.runner import Job, finite_mean
from repro.eval.scoring import score
from repro.imageio import is_image_file, read_image
from repro.metrics import MetricSpec, get_metric
from repro.metrics.iqa import fid

# PSNR/SSIM as most SR papers report them, for `repro score` (no card gives a protocol there;
# --channel, --crop, --gray change it)
SCORE_PROTOCOL = {"gray": "rgb3", "ssim": "matlab"}


def dataset_metrics(card: Card, data: Dataset) -> list[tuple[str, str | None]]:
    """The (metric, variant) pairs a dataset's own task reports, as its papers do."""
    if not data.layout.hr:  # LR-only sets: a no-reference metric
        return [("niqe", None)]
    if card.task == "stereo":
        return [(m, v) for v in ("pair_mean", "left_crop64") for m in ("psnr", "ssim")]
    metrics: list[tuple[str, str | None]] = [("psnr", None), ("ssim", None)]
    if card.task == "360":
        metrics += [("ws_psnr", None), ("ws_ssim", None)]
    return metrics


def dataset_job(
    model: str,
    scale: int,
    data: Dataset,
    *,
    channel: str | None = None,
    crop: int | None = None,
    settings: dict | None = None,
    weights_path: str | None = None,
    weights_key: str | None = None,
    metrics: list[tuple[str, None]] | None = None,
    tile: int | None = None,
    gray: str | None = None,
    strict: bool = True,
) -> Job:
    """A job scoring ``model`` on a dataset with its card's protocol (channel, crop and gray
    policy overridable); ``metrics`` replace the task's, ``tile`` runs the model on LR tiles of
    that side."""
    card = data.card
    protocol = card.protocol.as_dict()
    if channel:
        protocol["channel"] = channel
    if gray:
        protocol["gray"] = gray
    if tile:
        protocol["tile"] = {"size": tile}
    if crop is None:
        crop = protocol.get("crop", 0)
        crop = scale if crop == "scale" else int(crop)
    return Job(
        model=model,
        scale=scale,
        dataset=card.name,
        metrics=metrics or dataset_metrics(card, data),
        protocol=protocol,
        crop=crop,
        settings=settings or {},
        weights_path=weights_path,
        weights_key=weights_key,
        strict=strict,
    )


def chosen_metrics(names: list[str], with_hr: bool) -> list[tuple[str, None]]:
    """``--metrics``: per-image metrics that can score these images (with or without ground
    truth), checked before any image is read."""
    for name in names:
        spec = get_metric(name)
        if spec.impl is None:
            raise ReproError(f"{spec.name} is a property of the model, not of an image")
        if spec.set_level:
            raise ReproError(
                f"{spec.name} compares two image sets, not images: save the SR images (--out "
                f"DIR), then run repro score {spec.name} --ref HR_DIR --dist DIR"
            )
        if spec.needs_reference and not with_hr:
            raise ReproError(
                f"{spec.name} compares with ground truth, which these images lack (no --hr "
                "folder, or an LR-only set); no-reference metrics such as niqe score them alone"
            )
        spec.check_ready()  # a missing backend or weight file is said before any image is read
    return [(get_metric(n).name, None) for n in names]


def file_pairs(ref: Path, dist: Path) -> list[tuple[Path, Path]]:
    """(reference, distorted) files: the two given, or two folders matched by file stem."""
    if ref.is_dir() != dist.is_dir():
        raise ReproError("--ref and --dist must both be files or both be folders")
    if not ref.is_dir():
        return [(ref, dist)]
    refs = {p.stem: p for p in sorted(ref.iterdir()) if is_image_file(p)}
    dists = {p.stem: p for p in sorted(dist.iterdir()) if is_image_file(p)}
    common = sorted(set(refs) & set(dists))
    if not common:
        raise ReproError(f"no file names in common between {ref} and {dist}")
    return [(refs[n], dists[n]) for n in common]


def mod_crop(image: np.ndarray, multiple: int | None) -> np.ndarray:
    """The image cropped at its bottom and right to a multiple of ``multiple`` (as the papers
    crop an HR image before making its LR); unchanged for None or 1."""
    if not multiple or multiple == 1:
        return image
    h, w = image.shape[:2]
    return image[: h - h % multiple, : w - w % multiple]


def score_files(
    metrics: list[MetricSpec],
    ref: Path | None,
    dist: Path,
    *,
    protocol: dict,
    crop: int,
    multiple: int | None = None,
) -> tuple[list[dict], dict[str, float]]:
    """One row per file (``image`` and each per-image metric) and the means; a set-level
    metric (FID) gets its one value over the two sets in the means. No-reference metrics read
    ``dist`` only. Scored as ``repro eval`` scores (:func:`repro.eval.scoring.score`: channel,
    border crop, gray images, SSIM kind), after an optional mod-crop of both images."""
    for m in metrics:  # every metric can run, before any image is read
        if m.impl is None and not m.set_level:
            raise ReproError(f"{m.name} is a property of the model, not of an image")
        m.check_ready()
    with_ref = [m.name for m in metrics if m.needs_reference or m.set_level]
    if ref is None and with_ref:
        raise ReproError(f"{_names(with_ref)} with a reference: pass --ref")
    pairs = file_pairs(ref or dist, dist)
    per_image = [(m.name, None) for m in metrics if not m.set_level]
    set_level = [m for m in metrics if m.set_level]
    paired = [m.name for m in metrics if m.needs_reference]  # FID needs no pairs of one size
    protocol = {**SCORE_PROTOCOL, **protocol}
    rows, kept = [], []
    for r, d in pairs:
        distorted = mod_crop(read_image(d), multiple)
        reference = mod_crop(read_image(r), multiple) if ref is not None else None
        if paired and distorted.shape[:2] != reference.shape[:2]:
            hint = "" if multiple else " (or --mod-crop SCALE when the reference is not cropped)"
            raise ReproError(
                f"{d} is {distorted.shape[1]}x{distorted.shape[0]} but {r} is "
                f"{reference.shape[1]}x{reference.shape[0]}; {_names(paired, 'images')} of "
                f"one size: pass the reference cropped to the distorted image's size{hint}"
            )
        rows.append({"image": d.name, **score(distorted, reference, per_image, protocol, crop)})
        if set_level:
            kept.append((distorted, reference))
    means = {m: finite_mean(row[m] for row in rows) for m, _ in per_image}
    for m in set_level:  # FID compares the two sets, not pairs
        means[m.name] = float(fid([d for d, _ in kept], [r for _, r in kept]))
    return rows, means


def _names(names: list[str], what: str = "") -> str:
    """``psnr compares`` / ``psnr, ssim compare`` (+ `` what``)."""
    verb = "compares" if len(names) == 1 else "compare"
    return f"{', '.join(names)} {verb}" + (f" {what}" if what else "")
