"""Evaluation outside a table: one model on one dataset (``repro eval``) and one metric on
image files (``repro score``). The policy lives here; the CLI only parses and prints."""

from __future__ import annotations

from pathlib import Path

from repro.data.dataset import Dataset
from repro.data.schema import Card
from repro.errors import ReproError
from repro.eval.runner import Job, finite_mean
from repro.imageio import is_image_file, read_image
from repro.metrics import MetricSpec, get_metric
from repro.metrics.iqa import fid

# PSNR/SSIM as most SR papers report them, for `repro score` (no card gives a protocol there)
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


def score_files(
    metric: MetricSpec, ref: Path | None, dist: Path, *, channel: str, crop: int
) -> tuple[dict[str, float], float]:
    """Per-file values and their mean; no-reference metrics read ``dist`` only, FID the sets."""
    if ref is None and metric.needs_reference:
        raise ReproError(f"metric {metric.name} compares with a reference: pass --ref")
    pairs = file_pairs(ref or dist, dist)
    if metric.set_level:  # FID compares the two sets, not pairs
        return {}, fid([read_image(d) for _, d in pairs], [read_image(r) for r, _ in pairs])
    protocol = {**SCORE_PROTOCOL, "channel": channel, "crop": crop}
    values: dict[str, float] = {}
    for r, d in pairs:
        if not metric.needs_reference:
            values[d.name] = float(metric.fn(read_image(d), **protocol))
            continue
        distorted, reference = read_image(d), read_image(r)
        if distorted.shape[:2] != reference.shape[:2]:
            raise ReproError(
                f"{d} is {distorted.shape[1]}x{distorted.shape[0]} but {r} is "
                f"{reference.shape[1]}x{reference.shape[0]}; {metric.name} compares images of "
                "one size: pass the reference cropped to the distorted image's size"
            )
        values[d.name] = float(metric.fn(distorted, reference, **protocol))
    return values, finite_mean(values.values())
