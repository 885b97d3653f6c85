"""Run model x dataset x scale x protocol over images; one row per image (per view for stereo
pairs), plus means."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from repro.data.dataset import Dataset, Sample
from repro.errors import DataError, NonFiniteOutputError
from repro.eval import distributed
from repro.eval.cache import RowCache, job_key
from repro.eval.code_key import job_code
from repro.eval.loaded import LoadedModel, load
from repro.eval.predictor import make_predictor, refuse_non_finite
from repro.eval.prefetch import ReadAhead
from repro.eval.scoring import score, score_views
from repro.eval.sr_files import write_sr
from repro.machine import device_provenance, tf32_policy
from repro.metrics import get_metric
from repro.progress import progress as progress_of

ID_COLUMNS = ["dataset", "image", "view", "row", "model", "variant", "scale", "settings"]


@dataclass
class Job:
    """What decides a set of numbers: model, weights, scale, dataset and protocol."""

    model: str
    scale: int
    dataset: str
    metrics: list[tuple[str, str | None]]
    protocol: dict
    crop: int
    row: str = ""
    settings: dict = field(default_factory=dict)
    weights_id: str | None = None
    weights_path: str | None = None
    weights_key: str | None = None
    strict: bool = True  # False: load only the checkpoint's keys that fit (recorded)


def evaluate(
    job: Job,
    data: Dataset,
    *,
    device: str | torch.device = "cpu",
    use_cache: bool = True,
    progress: bool = True,
    seed: int = 0,
    loaded: LoadedModel | None = None,
    prefetch: int = 2,
    cache_dir: Path | None = None,
    save_sr: Path | None = None,
) -> tuple[list[dict], dict]:
    """Score every image of ``data`` (this process's shard under torchrun); gather all rows.

    ``device`` is the device the run resolved (:func:`repro.machine.resolve_device`).
    ``loaded`` is the job's model from :func:`repro.eval.loaded.load` (placed for that device),
    to reuse one across datasets; by default the job's model is loaded here, on ``device``.
    ``prefetch`` images are read (verified, decoded, LR made) ahead of the model by a background
    thread; 0 reads each image when its turn comes. ``cache_dir``: the workspace's row cache
    (default: the active workspace's). ``save_sr``: a folder to write every SR output into,
    under its HR file's name (:mod:`repro.eval.sr_files`); every image is then predicted (the
    row cache holds scores, not images), and its rows are cached as usual.

    ``seconds`` of an image is its forward pass alone, after one untimed warm-up forward on the
    first image to compute (:func:`warm_up`).
    """
    loaded = loaded or load(
        job.model,
        job.scale,
        job.settings,
        weights_path=job.weights_path,
        weights_id=job.weights_id,
        weights_key=job.weights_key,
        device=torch.device(device),
        strict=job.strict,
    )
    module, model_prov, ran_on = loaded.module, loaded.provenance, loaded.device
    stereo = len(data.layout.views) == 2
    _check_views(job.model, data, stereo)
    predict = make_predictor(job.model, module, device=ran_on, tile=job.protocol.get("tile"))
    rank, size = distributed.world(loaded.asked)
    code = job_code(job.model, [m for m, _ in job.metrics])
    identity = {
        "code": code.sha256,  # the modules this job runs, not the whole package
        "rows": "per-view" if stereo else "per-image",
        "model": model_prov,
        "dataset": data.describe(),
        "protocol": job.protocol,
        "metrics": job.metrics,
        "crop": job.crop,
        "seed": seed,
        # the kind of device, not its index: ranks on cuda:0 and cuda:1 share one cache
        "device": ran_on.type,
        **(tf32_policy() if ran_on.type == "cuda" else {}),
    }
    set_level = [(m, v) for m, v in job.metrics if get_metric(m).set_level]
    per_image = replace(job, metrics=[mv for mv in job.metrics if mv not in set_level])
    # a set-level metric (FID) needs every SR output, so its jobs reuse no cached rows
    cache = RowCache(
        job_key(identity), rank=rank, enabled=use_cache and not set_level, folder=cache_dir
    )
    kept: list[tuple[str, np.ndarray, np.ndarray]] | None = [] if set_level else None
    if set_level and stereo:
        raise DataError(f"set-level metrics {set_level} are not defined on stereo pairs")
    metric_columns = tuple(f"{m}@{v}" if v else m for m, v in per_image.metrics)

    def read(name: str) -> tuple[dict, list[dict] | None, Sample | None]:
        """An image's file hashes, and its cached rows or else its decoded sample."""
        shas = data.verify(name)
        cached = None if save_sr else cache.get(name, shas, metric_columns)
        return shas, cached, None if cached is not None else data.load(name)

    rows: list[dict] = []
    guard = module.register_forward_hook(refuse_non_finite)
    # only the reader thread touches ``data`` and reads ``cache`` until the loop ends
    with ReadAhead(read, data.names[rank::size], depth=prefetch) as reads:
        desc = f"{job.model} x{job.scale} {data.card.name}"
        bar = progress_of(reads, desc, len(reads)) if progress and rank == 0 else reads
        warm = False
        try:
            for shas, cached, sample in bar:
                if cached is not None:
                    rows.extend(cached)
                    continue
                if not warm:
                    warm_up(predict, sample.lr, seed, f"{data.card.name}/{sample.name}")
                    warm = True
                image_rows, sr = _score_image(
                    sample, shas, data, predict, per_image, model_prov, seed, cache
                )
                rows.extend(image_rows)
                if save_sr is not None:
                    write_sr(save_sr, data, sample.name, sr)
                if kept is not None and sample.hr is not None:
                    kept.append((sample.name, sr, sample.hr))
        finally:
            guard.remove()
    gathered = distributed.gather(rows)
    order = {n: i for i, n in enumerate(data.names)}
    all_rows = sorted((r for part in gathered for r in part), key=lambda r: order[r["image"]])
    files_sha = {}
    for part in distributed.gather(data.file_sha256):
        files_sha.update(part)
    cached = sorted(n for part in distributed.gather(cache.hits) for n in part)
    prov = {
        "code": code.summary(),
        "model": model_prov,
        "device": _ran_on(loaded.asked, ran_on, module),
        "data": {
            **data.describe(),
            "sha256": _digest(files_sha),
            "unverified_files": data.unverified,
        },
        # which rows a rerun reused: they were computed by this same code on the same files
        "images_from_cache": len(cached),
        "images_computed": len(data.names) - len(cached),
        "cached_images": cached,
    }
    if set_level:
        prov["set_level"] = _score_sets(set_level, distributed.gather(kept), order, job.protocol)
    return all_rows, prov


def _score_sets(metrics, parts: list, order: dict, protocol: dict) -> dict[str, float]:
    """Set-level values (FID) of all ranks' (name, SR, HR) outputs, in the dataset's order."""
    outputs = sorted((o for part in parts for o in part), key=lambda o: order[o[0]])
    if not outputs:
        return {}  # LR-only sets: nothing to compare the outputs with
    srs, hrs = [o[1] for o in outputs], [o[2] for o in outputs]
    return {
        f"{m}@{v}" if v else m: float(get_metric(m).score_sets(srs, hrs, **protocol))
        for m, v in metrics
    }


def _ran_on(asked: torch.device, ran_on: torch.device, module: torch.nn.Module) -> dict:
    """The device provenance of a job: where its model ran, and the device asked when the model
    runs elsewhere (bicubic works on the uint8 image with numpy/torch on the CPU)."""
    # a model that picks its attention kernel by device (ESC) says which one runs there
    backend = getattr(module, "attention_backend", None)
    out = device_provenance(ran_on, attention_backend=backend(ran_on) if backend else None)
    if ran_on != asked:
        out["asked"] = str(asked)
    return out


def _score_image(sample, shas, data, predict, job, model_prov, seed, cache):
    """Predict and score one image (all its views); the rows go to the cache at once.

    Returns the rows and the SR output (set-level metrics score the outputs together)."""
    name = sample.name
    torch.manual_seed(seed)  # models with sampling (CAMixerSR official mode) are seeded
    start = time.perf_counter()
    try:
        sr = predict(sample.lr)
    except NonFiniteOutputError as exc:
        raise NonFiniteOutputError(f"{data.card.name}/{name}: {exc}") from None
    seconds = time.perf_counter() - start
    ids = {
        "dataset": data.card.name,
        "image": name,
        "row": job.row,
        "model": job.model,
        "variant": model_prov["model"],
        "scale": job.scale,
        "settings": _settings_str(job.settings),
    }
    args = (sr, sample.hr, job.metrics, job.protocol, job.crop)
    scored = score_views(*args) if len(data.layout.views) == 2 else [score(*args)]
    image_rows = [{**ids, **values, "seconds": seconds} for values in scored]
    cache.put(name, shas, image_rows)
    return image_rows, sr


def _check_views(model_id: str, data: Dataset, stereo: bool) -> None:
    """A single-image model cannot take a stereo pair, nor a stereo model one image."""
    from repro.models import registry

    info = registry.get(model_id)
    if info.stereo != stereo and not info.any_views:
        takes = "left/right stereo pairs" if info.stereo else "single images"
        has = "stereo pairs" if stereo else "single images"
        raise DataError(
            f"{info.id} takes {takes}, but {data.card.name} holds {has}; pick a "
            f"{'stereo' if stereo else 'single-image'} model or another dataset"
        )


def _digest(files: dict[str, str]) -> str:
    import hashlib

    h = hashlib.sha256()
    for k in sorted(files):
        h.update(f"{k}:{files[k]}\n".encode())
    return h.hexdigest()


def _settings_str(settings: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(settings.items()))


def warm_up(predict, lr: np.ndarray, seed: int, where: str) -> None:
    """One untimed forward pass before the first timed one. The first forward of a model in a
    process pays for lazy initialisation (allocations, kernel choice, thread pools: seconds on a
    CPU), which would otherwise land in the first image's time. Seeded as the image's own
    forward is, so the outputs do not depend on it."""
    torch.manual_seed(seed)
    try:
        predict(lr)
    except NonFiniteOutputError as exc:
        raise NonFiniteOutputError(f"{where}: {exc}") from None


def finite_mean(values) -> float:
    """Mean over finite values: a +inf PSNR (identical images) does not break the aggregate."""
    arr = np.asarray([v for v in values if v is not None], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else math.nan


def to_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    metric_cols = [c for c in frame.columns if c not in ID_COLUMNS]
    return frame[[c for c in ID_COLUMNS if c in frame.columns] + metric_cols]


def means(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (row, dataset, scale) means of every metric (finite values), with image counts.

    Stereo frames have one row per view; their stereo metrics are shares of the pair score
    (:func:`repro.metrics.stereo.view_scores`), so the mean over views is the paper's number.
    """
    if frame.empty:
        return frame
    keys = [c for c in ("row", "model", "dataset", "scale", "settings") if c in frame.columns]
    metric_cols = [c for c in frame.columns if c not in ID_COLUMNS]
    grouped = frame.groupby(keys, sort=False, dropna=False)
    out = grouped[metric_cols].agg(finite_mean)
    out["images"] = grouped["image"].nunique()  # stereo sets have two rows (views) per image
    return out.reset_index()
