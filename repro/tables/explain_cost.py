"""What the explainer can tell about a cost cell (params, FLOPs/MAdds, time, memory).

A cost is a property of the model, not of images: no scoring variant moves it. What decides it
is what is counted and on which input, so the explanation says that (the metric's registry
entry, the protocol's counting method and input size, or its latency setting), gives the count
made here, and checks the paper's number against the paper's own numbers: where the table holds
the same model at other values of one numeric setting (CAMixerSR's ratio γ), a count that is
affine in it (only the attended windows' work changes with γ) puts every row on one line, so
the line through the other rows predicts this one. A flag the spec puts on the number
(:class:`repro.tables.spec.Anomaly`) is quoted.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from repro.errors import NotRun, ReproError
from repro.metrics import get_metric
from repro.tables.compare import CellStatus, judge
from repro.tables.context import RunContext
from repro.tables.explain_rule import anomaly_words
from repro.tables.spec import Column, Row, TableSpec

COUNTS_UNIT = "G"  # operation counts (FLOPs, MAdds, MACs): the only costs checked for affinity


@dataclass
class AffineCheck:
    """The paper's own numbers for the same model at other values of one setting."""

    setting: str  # e.g. ratio
    at: float  # this row's value of it
    points: list[tuple[float, float]]  # (setting value, reported) of the other rows
    predicted: float  # the least-squares line through ``points``, at ``at``
    misfit: float | None  # the largest distance of ``points`` from their line (None for two)


@dataclass
class CostExplanation:
    table: str
    row: str
    label: str
    scale: int
    metric: str
    dataset: str | None
    column_variant: str | None
    reported: float | None
    reproduced: float | None  # counted here; None when it cannot be (``not_counted`` says why)
    not_counted: str | None
    delta: float | None
    tolerance: float | None
    status: str  # PASS, FAIL, IMPROVED; MEASURED without a paper number; NOT-RUN
    counted: list[str]  # what is counted, and on which input
    affine: AffineCheck | None
    affine_skipped: str | None  # why there is no affine check
    anomaly: str | None  # the spec's flag on the paper's number

    def to_dict(self) -> dict:
        return {**asdict(self), "kind": "cost"}


def explain_cost(ctx: RunContext, row: str, dataset: str, metric: str) -> CostExplanation:
    """Explain a cost cell: count it here on the row's architecture (weights do not change a
    count; a timing is measured as the table measures it, on the run's device) and say what
    decides it."""
    from repro.eval.complexity import measure
    from repro.tables.explain import find_cell

    spec = ctx.spec
    r, col, reported = find_cell(spec, row, dataset, metric)
    where = f"{spec.id} {r.label} {col.frame_metric}"
    if r.status:
        raise NotRun(r.status, f"{where} is NOT-RUN in the spec: {r.reason}")
    if r.model is None:
        raise ReproError(f"{where} is another method's number (REPORTED-ONLY): nothing ran here")
    module = ctx.architecture(r).module
    try:
        value, why = measure(col.metric, r, spec, module, col.variant), None
    except NotRun as exc:
        value, why = None, f"{exc.code}: {exc.detail}"
    return cost_explanation(spec, r, col, value, why)


def cost_explanation(
    spec: TableSpec, row: Row, col: Column, reproduced: float | None, why: str | None = None
) -> CostExplanation:
    """The explanation of a cost cell whose value (``reproduced``) is known: what is counted,
    the verdict, the paper's own line where the table holds one, the spec's flag."""
    reported = row.reported[spec.columns.index(col)]
    delta = tolerance = None
    if reproduced is None:
        status = CellStatus.NOT_RUN
    elif reported is None:
        status = CellStatus.MEASURED
    else:
        tolerance = spec.tolerance_for(col.metric, reported)
        status, delta = judge(col.metric, float(reported), float(reproduced), tolerance)
    affine, skipped = affine_check(spec, row, col)
    return CostExplanation(
        table=spec.id,
        row=row.id,
        label=row.label,
        scale=row.scale,
        metric=col.metric,
        dataset=col.dataset,
        column_variant=col.variant,
        reported=None if reported is None else float(reported),
        reproduced=reproduced,
        not_counted=why,
        delta=delta,
        tolerance=tolerance,
        status=str(status),
        counted=counted_as(spec, col, row.scale),
        affine=affine,
        affine_skipped=skipped,
        anomaly=anomaly_words(row, col),
    )


def counted_as(spec: TableSpec, col: Column, scale: int) -> list[str]:
    """What a cost column counts and on which input, from the registry and the protocol."""
    m, p = get_metric(col.metric), spec.protocol
    out = [f"{col.metric}: {m.description}"]
    if col.metric == "params":
        return out + ["an exact count of the model's tensors: no input, no convention"]
    if m.unit == COUNTS_UNIT:
        if p.get("flops_method"):
            out.append(f"counting convention (protocol flops_method): {p['flops_method']}")
        if p.get("flops_output"):
            w, h = p["flops_output"]
            out.append(f"input size (protocol flops_output): a {w}x{h} output at x{scale}")
        if p.get("flops_lr_input"):
            h, w = p["flops_lr_input"]
            out.append(f"input size (protocol flops_lr_input): a {h}x{w} LR patch")
        if len(out) == 1:
            out.append("the protocol names no convention or input size: the family's counter")
        return out
    from repro.models.timing import latency_setting

    try:
        s = latency_setting(p, col.variant)
    except NotRun as exc:
        return out + [exc.detail]
    size = f"LR {s.input_lr[0]}x{s.input_lr[1]}" if s.input_lr else f"output {s.output}"
    return out + [
        f"measured on {s.device} (the paper's: {s.name}), {size}, batch {s.batch}, {s.dtype}, "
        f"{s.statistic} of {s.repeats} after {s.warmup} warm-up: a timing, bound to the hardware"
    ]


def affine_check(spec: TableSpec, row: Row, col: Column) -> tuple[AffineCheck | None, str | None]:
    """The line through the paper's numbers for the same model, scale and weights at other
    values of one numeric setting (operation counts only); or None and why not."""
    if get_metric(col.metric).unit != COUNTS_UNIT:
        return None, f"{col.metric} is not an operation count"
    i = spec.columns.index(col)
    found: dict[str, list[tuple[float, float]]] = {}
    for other in spec.rows:
        if other is row or (other.model, other.scale, other.weights) != (
            row.model,
            row.scale,
            row.weights,
        ):
            continue
        keys = set(row.settings) | set(other.settings)
        diff = [k for k in keys if row.settings.get(k) != other.settings.get(k)]
        if len(diff) != 1 or other.reported[i] is None:
            continue
        a, b = row.settings.get(diff[0]), other.settings.get(diff[0])
        if _number(a) and _number(b):
            found.setdefault(diff[0], []).append((float(b), float(other.reported[i])))
    usable = {k: v for k, v in found.items() if len({x for x, _ in v}) >= 2}
    if len(usable) != 1:
        return None, (
            f"the table holds no other rows of {row.model} x{row.scale} that differ in one "
            "numeric setting only"
        )
    ((key, points),) = usable.items()
    xs, ys = np.array([x for x, _ in points]), np.array([y for _, y in points])
    slope, offset = np.polyfit(xs, ys, 1)
    misfit = float(np.max(np.abs(slope * xs + offset - ys))) if len(points) > 2 else None
    at = float(row.settings[key])
    return AffineCheck(key, at, sorted(points), float(slope * at + offset), misfit), None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --------------------------------------------------------------------------- text
def _num(value: float | None, decimals: int, sign: bool = False) -> str:
    """A number with thousands separated; a value that rounds to zero unsigned."""
    if value is None:
        return "-"
    if round(value, decimals) == 0:
        value, sign = 0.0, False
    return f"{value:+,.{decimals}f}" if sign else f"{value:,.{decimals}f}"


def _name(e: CostExplanation) -> str:
    metric = e.metric + (f"@{e.column_variant}" if e.column_variant else "")
    return f"{e.label} · {f'{e.dataset} ' if e.dataset else ''}x{e.scale} · {metric}"


def _parts(e: CostExplanation) -> tuple[str, list[str], list[str]]:
    """(the numbers and verdict, what decides the cost, the findings), as sentences."""
    d = get_metric(e.metric).decimals
    verdict = e.status
    if e.tolerance is not None:
        verdict += f" (tolerance ±{_num(e.tolerance, d)})"
    head = (
        f"reported {_num(e.reported, d)}   reproduced {_num(e.reproduced, d)}   "
        f"Δ {_num(e.delta, d, True)}   {verdict}"
    )
    findings = [f"not counted here: {e.not_counted}"] if e.not_counted else []
    if e.affine:
        findings.append(_affine_words(e, d))
    else:
        findings.append(f"no check against the paper's own numbers: {e.affine_skipped}")
    if e.anomaly:
        findings.append(f"⚑ the paper's number: {e.anomaly}")
    findings.append(_conclusion(e))
    return head, e.counted, findings


def _affine_words(e: CostExplanation, d: int) -> str:
    a = e.affine
    pts = ", ".join(f"{x:g} -> {_num(y, d)}" for x, y in a.points)
    fit = "" if a.misfit is None else f" (they lie within {_num(a.misfit, d)} of it)"
    out = (
        f"the paper's own numbers at other {a.setting}: {pts}; the line through them{fit} gives "
        f"{_num(a.predicted, d)} at {a.setting} {a.at:g}: the reported number lies "
        f"{_num(e.reported - a.predicted, d, True)} off it"
    )
    if e.reproduced is not None:
        out += f", the count here {_num(e.reproduced - a.predicted, d, True)}"
    return out


def _conclusion(e: CostExplanation) -> str:
    """What the findings add up to."""
    if e.reproduced is None or e.reported is None or e.tolerance is None:
        return "no verdict: nothing to compare"
    if e.status == CellStatus.PASS:
        return "the count matches the paper within the tolerance"
    timing = get_metric(e.metric).unit != COUNTS_UNIT and e.metric != "params"
    if timing:
        return (
            "a timing: it depends on the hardware and varies between runs (python -m "
            "repro.table measures it again); no protocol variant applies to it"
        )
    a = e.affine
    if a is not None:
        paper_off = abs(e.reported - a.predicted) > e.tolerance
        here_on = abs(e.reproduced - a.predicted) <= e.tolerance
        if paper_off and here_on:
            return (
                "the count here lies on the paper's own line and the printed number does not: "
                "the paper's number, not the counter, is off"
            )
        if not paper_off and not here_on:
            return (
                "the paper's numbers agree with each other and the count here does not: the "
                "counting convention or the input size differs"
            )
    if e.anomaly:
        return "the spec flags the paper's number (above): the gap is in the paper's number"
    return "the gap is in the count: compare the counting convention and input size above"


def format_cost_text(e: CostExplanation) -> str:
    head, decides, findings = _parts(e)
    return "\n".join(
        [
            f"{e.table} · {_name(e)}",
            head,
            "a property of the model, not of images: no scoring or input variant moves it",
            "what decides it:",
            *(f"  {line}" for line in decides),
            *findings,
        ]
    )


def cost_markdown(e: CostExplanation, level: int = 3) -> str:
    """A report section for one cost cell, headed at ``level``."""
    head, decides, findings = _parts(e)
    out = [
        f"{'#' * level} {_name(e)}",
        "",
        f"{head}. A property of the model, not of images: no scoring or input variant moves "
        "it. What decides it:",
        "",
        *(f"- {line}" for line in decides),
        "",
        *(f"{line[0].upper()}{line[1:]}.\n" for line in findings),
    ]
    return "\n".join(out).rstrip("\n") + "\n"
