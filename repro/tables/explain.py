"""The gap explainer: one table cell re-scored under the protocol variants papers mix up.

The table's protocol is the base; each variant changes one thing in it:

- scoring (the base's SR outputs are re-scored): Y vs RGB, crop ``scale`` vs 0, gray images
  scored on their gray channel (MATLAB) vs replicated to RGB before Y (BasicSR's cv2 reading),
  the SSIM kind (MATLAB's Gaussian 11x11 vs scikit-image's 7x7 uniform);
- inputs (a new forward pass, its outputs cached by :mod:`repro.eval.sr_cache`): the official LR
  files vs LR made here by MATLAB ``imresize``, MATLAB (uint8 between passes) vs float (BasicSR)
  rounding, symmetric vs replicate boundary, and the checkpoint's ``params_ema`` vs ``params``
  (only when it holds both).

For each variant: the set mean, its Δ vs the paper, whether that change alone lands within the
cell's tolerance, and each image's contribution to the change of the mean.

Which change *explains* a gap: :mod:`repro.tables.explain_rule`. Cost cells (params, FLOPs,
time) have no images to re-score: :mod:`repro.tables.explain_cost`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from functools import partial

import numpy as np

from repro.data.dataset import Dataset
from repro.errors import (
    MissingDataError,
    MissingWeightsError,
    NotRun,
    NotRunCode,
    ReproError,
    UnknownNameError,
    did_you_mean,
)
from repro.eval.code_key import job_code
from repro.eval.loaded import LoadedModel
from repro.eval.predictor import make_predictor
from repro.eval.runner import finite_mean
from repro.eval.scoring import score, score_views
from repro.eval.sr_cache import CachedPredictor, SRCache
from repro.machine import tf32_policy
from repro.metrics import get_metric
from repro.progress import progress as shown_progress
from repro.tables.compare import CellStatus, judge
from repro.tables.context import RunContext
from repro.tables.explain_rule import (
    DATASET_FREE,
    EXPLAINS,
    anomaly_words,
    beyond_by_noise,
    is_material,
)
from repro.tables.explain_setup import (
    Setup,
    apply_overrides,
    change_of,
    check_axes,
    only,
    other_state_dict,
    protocol_variants,
)
from repro.tables.run import is_cost, metric_ready
from repro.tables.spec import Column, Row, TableSpec


@dataclass
class ImageShare:
    image: str
    base: float  # the image's value under the base protocol
    value: float  # under the variant
    contribution: float  # (value - base) / images: its part of the change of the set mean


@dataclass
class VariantResult:
    axis: str  # channel, crop, gray, ssim, lr, rounding, boundary, weights
    change: str  # e.g. "gray=rgb3"
    label: str  # in words
    forward: bool  # needed new SR outputs (an input variant)
    mean: float
    shift: float  # mean - base mean
    delta: float  # mean - reported
    status: str  # PASS (alone within tolerance), FAIL or IMPROVED
    images: list[ImageShare] = field(default_factory=list)  # by |contribution|, largest first


@dataclass
class Explanation:
    table: str
    row: str
    label: str
    dataset: str
    scale: int
    metric: str
    column_variant: str | None
    reported: float
    tolerance: float
    base: str  # the base protocol in words
    base_overrides: dict  # --protocol changes from the table's protocol
    mean: float  # under the base
    delta: float
    status: str
    images: int
    images_total: int | None
    variants: list[VariantResult]
    skipped: list[dict]  # {axis, reason}: variants that do not apply to this cell
    timing: dict  # seconds, forward passes (and their seconds), outputs from the cache
    anomaly: str | None = None  # the spec's flag on the paper's number, in words, with why

    @property
    def partial(self) -> bool:
        """Scored on fewer images than the paper's set: the verdicts are only indicative."""
        return self.images_total is not None and self.images < self.images_total

    @property
    def explaining(self) -> list[VariantResult]:
        """Variants that alone land within tolerance where the base does not, by a material
        shift (:func:`is_material`)."""
        if self.status == CellStatus.PASS:
            return []
        return [
            v
            for v in self.variants
            if v.status == CellStatus.PASS and is_material(v.shift, self.tolerance)
        ]

    @property
    def nudging(self) -> list[VariantResult]:
        """Variants that land within tolerance by a shift too small to explain the gap."""
        if self.status == CellStatus.PASS:
            return []
        return [
            v
            for v in self.variants
            if v.status == CellStatus.PASS and not is_material(v.shift, self.tolerance)
        ]

    @property
    def within_noise(self) -> bool:
        """A gap beyond the tolerance by less than MATERIAL x the tolerance, unexplained."""
        return not self.explaining and beyond_by_noise(self.delta, self.tolerance)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["explaining"] = [v.change for v in self.explaining]
        out["within_noise"] = self.within_noise
        out["rule"] = EXPLAINS
        out["partial"] = self.partial
        return out


def find_cell(spec: TableSpec, row: str, dataset: str, metric: str) -> tuple[Row, Column, float]:
    """A cell by row id or label, dataset and metric (``psnr`` or ``psnr@pair_mean``).

    ``-`` names the dataset-free columns (params, FLOPs), as tables print them; a dataset given
    for a dataset-free cost (``Set5 madds``) finds it too: a count does not depend on images."""
    found = [r for r in spec.rows if row.lower() in (r.id.lower(), r.label.lower())]
    if not found:
        names = [r.id for r in spec.rows]
        raise UnknownNameError(
            f"table {spec.id} has no row '{row}'; {did_you_mean(row, names)} (rows: ids or labels)"
        )
    r = found[0]
    free = any(c.dataset is None for c in spec.columns)
    if dataset.strip() == DATASET_FREE and free:
        ds = None
    else:
        ds = next((d for d in spec.datasets if d.lower() == dataset.lower()), None)
        if ds is None:
            known = spec.datasets + ([f"{DATASET_FREE} (params, FLOPs...)"] if free else [])
            raise UnknownNameError(
                f"table {spec.id} has no dataset '{dataset}'; its datasets: {', '.join(known)}"
            )
    name, _, variant = metric.replace("/", "@").partition("@")

    def matching(where: str | None) -> list[Column]:
        cols = [c for c in spec.columns if c.dataset == where and c.metric == name]
        return [c for c in cols if not variant or c.variant == variant]

    cols = matching(ds)
    if not cols and ds is not None and is_cost(name):
        cols = matching(None)  # a model's cost, printed without a dataset
    if len(cols) != 1:
        here = [c.frame_metric for c in spec.columns if c.dataset == ds]
        here += [f"{DATASET_FREE} {c.frame_metric}" for c in spec.columns if ds and not c.dataset]
        what = "names several columns" if cols else "is not a column"
        raise UnknownNameError(
            f"metric '{metric}' {what} of {ds or DATASET_FREE} in {spec.id}; choose one of "
            f"{', '.join(here)}"
        )
    col = cols[0]
    return r, col, r.reported[spec.columns.index(col)]


def _check_explainable(spec: TableSpec, row: Row, col: Column, reported) -> None:
    where = f"{spec.id} {row.label} {col.dataset} {col.frame_metric}"
    if row.status:
        raise NotRun(row.status, f"{where} is NOT-RUN in the spec: {row.reason}")
    if row.model is None:
        raise ReproError(f"{where} is another method's number (REPORTED-ONLY): nothing ran here")
    if is_cost(col.metric):
        raise ReproError(
            f"{where} is a property of the model, not of images: nothing to re-score "
            "(repro explain tells what a cost cell counts: repro.tables.explain_cost)"
        )
    if get_metric(col.metric).set_level:
        raise ReproError(f"{where}: a set-level metric has no per-image values to re-score")
    if reported is None:
        raise ReproError(f"{where}: the paper reports no value, so there is no gap to explain")
    try:
        metric_ready(col.metric)
    except NotRun as exc:
        raise NotRun(exc.code, f"{where} cannot be measured here: {exc.detail}") from None


def explain_cell(
    ctx: RunContext,
    row: str,
    dataset: str,
    metric: str,
    *,
    protocol: dict | None = None,
    vary: tuple[str, ...] | None = None,
) -> Explanation:
    """Explain one cell's gap on the run context ``ctx`` (its spec, device, data root, cache,
    seed, and the datasets and models it already opened and loaded); ``protocol`` changes the
    base first (e.g. ``{"gray": "rgb3"}``: the table scored BasicSR's way); ``vary`` keeps only
    these axes (``explain_setup.AXES``), e.g. the scoring ones, which need no forward pass.
    Missing data or weights raise NotRun."""
    start = time.perf_counter()
    spec = ctx.spec
    r, col, reported = find_cell(spec, row, dataset, metric)
    _check_explainable(spec, r, col, reported)
    check_axes(vary)
    p = spec.protocol
    data, model = _open(ctx, r, col)
    prov = model.provenance
    key = (prov.get("weights") or {}).get("key")
    source = data.lr_source
    table_setup = Setup(
        channel=p.get("channel", "y"),
        crop=spec.crop_for(r.scale),
        gray=p.get("gray", "rgb3"),
        ssim=p.get("ssim", "matlab"),
        lr=source if source in ("official", "odi-fisheye-bicubic") else "bicubic",
        rounding=data.rounding,
        boundary=data.boundary,
        weights_key=key,
    )
    base = apply_overrides(table_setup, protocol or {}, r.scale, data)
    other_key, why = other_state_dict(prov)
    if base.weights_key != key:  # the base itself uses the other state dict
        other_key, why = key, ""
    variants, skipped = protocol_variants(base, col, r.scale, data, other_key, why)
    variants, skipped = only(variants, skipped, vary)
    setups = [base] + [v.setup for v in variants]
    modules = {key: model.module}
    for k in {s.weights_key for s in setups} - {key}:
        modules[k] = ctx.model(r, weights_key=k).module
    ran_on = model.device
    identity = {  # what decides the SR outputs besides the LR recipe and the state dict
        "code": job_code(r.model, ()).sha256,  # the model's and the evaluation's modules
        "model": prov["model"],
        "scale": r.scale,
        "settings": r.settings,
        "weights_sha256": (prov.get("weights") or {}).get("sha256"),
        "dataset": data.card.name,
        "layout": data.layout.name,
        "seed": ctx.seed,
        "device": ran_on.type,
        **(tf32_policy() if ran_on.type == "cuda" else {}),
        "tile": p.get("tile"),
    }
    predictors: dict[tuple, CachedPredictor] = {}
    for s in setups:
        if s.recipe not in predictors:
            net = modules[s.weights_key]
            cache = SRCache(
                {**identity, "lr": s.lr_source, "key": s.weights_key},
                root=ctx.workspace.sr_cache,
                enabled=ctx.use_cache,
            )
            predict = make_predictor(r.model, net, device=ran_on, tile=p.get("tile"))
            predictors[s.recipe] = CachedPredictor(predict, net, cache, seed=ctx.seed)
    values, gray = _score_all(data, p, col, r.scale, setups, predictors, ctx.progress)
    tol = spec.tolerance_for(col.metric, reported)
    mean = finite_mean(values[0].values())
    status, delta = judge(col.metric, float(reported), mean, tol)
    results = []
    for variant, vals in zip(variants, values[1:], strict=True):
        if variant.axis == "gray" and not gray:
            skipped.append({"axis": "gray", "reason": f"{data.card.name} has no gray image"})
            continue
        verdict = judge(col.metric, float(reported), finite_mean(vals.values()), tol)
        results.append(_result(variant, change_of(base, variant.setup), vals, values[0], verdict))
    return Explanation(
        table=spec.id,
        row=r.id,
        label=r.label,
        dataset=col.dataset,
        scale=r.scale,
        metric=col.metric,
        column_variant=col.variant,
        reported=float(reported),
        tolerance=tol,
        base=base.describe(),
        base_overrides={k: str(v) for k, v in (protocol or {}).items()},
        mean=mean,
        delta=delta,
        status=str(status),
        images=len(values[0]),
        images_total=data.card.images,
        variants=results,
        skipped=skipped,
        anomaly=anomaly_words(r, col),
        timing={
            "seconds": time.perf_counter() - start,
            "forward_passes": sum(c.computed for c in predictors.values()),
            "forward_seconds": sum(c.seconds for c in predictors.values()),
            "from_cache": sum(c.reused for c in predictors.values()),
            "cache": ctx.use_cache,
        },
    )


def _open(ctx: RunContext, r: Row, col: Column) -> tuple[Dataset, LoadedModel]:
    """The cell's dataset and model, as the run opened and loaded them; absent ones make the
    cell NOT-RUN."""
    try:
        return ctx.dataset(col.dataset, r.scale).data, ctx.model(r)
    except (MissingDataError, MissingWeightsError) as exc:
        code = NotRunCode.MISSING_DATA
        if isinstance(exc, MissingWeightsError):
            code = NotRunCode.MISSING_WEIGHTS
        where = f"{ctx.spec.id} {r.label} {col.dataset} {col.frame_metric}"
        raise NotRun(code, f"{where} is NOT-RUN here: {exc}") from None


def _score_all(data, protocol, col, scale, setups, predictors, progress):
    """Per setup, image -> value; and the names of the gray (one-channel) images."""
    metrics = [(col.metric, col.variant)]
    stereo = len(data.layout.views) == 2
    values: list[dict[str, float]] = [{} for _ in setups]
    gray = []
    # a bar on a terminal only: elsewhere the explanation's own "took" line says what ran
    bar = progress and sys.stderr.isatty()
    names = shown_progress(data.names, f"explain {data.card.name}") if bar else data.names
    for name in names:
        shas = data.verify(name)
        sample = data.load(name)
        hr = sample.hr
        if hr is not None and hr.shape[2] == 1:
            gray.append(name)
        outputs: dict[tuple, np.ndarray] = {}
        for i, s in enumerate(setups):
            if s.recipe not in outputs:
                lr = partial(s.make_lr, hr, scale) if s.lr == "bicubic" else lambda x=sample: x.lr
                outputs[s.recipe] = predictors[s.recipe](name, shas, lr)
            sr = outputs[s.recipe]
            how = {**protocol, "channel": s.channel, "gray": s.gray, "ssim": s.ssim}
            if stereo:
                rows = score_views(sr, hr, metrics, how, s.crop)
                values[i][name] = finite_mean(row[col.frame_metric] for row in rows)
            else:
                values[i][name] = score(sr, hr, metrics, how, s.crop)[col.frame_metric]
    return values, gray


def _result(variant, change, vals, base_vals, verdict) -> VariantResult:
    mean, base_mean = finite_mean(vals.values()), finite_mean(base_vals.values())
    status, delta = verdict
    both = [n for n in base_vals if np.isfinite(base_vals[n]) and np.isfinite(vals[n])]
    shares = [
        ImageShare(n, base_vals[n], vals[n], (vals[n] - base_vals[n]) / len(both)) for n in both
    ]
    shares.sort(key=lambda s: (-abs(s.contribution), s.image))
    return VariantResult(
        variant.axis,
        change,
        variant.label,
        variant.forward,
        mean,
        mean - base_mean,
        delta,
        str(status),
        shares,
    )
