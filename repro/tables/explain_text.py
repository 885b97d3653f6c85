"""An :class:`~repro.tables.explain.Explanation` as terminal text and as a markdown section.

The markdown holds no timings, so that a report section changes only when the numbers do.
Which change explains a gap follows :mod:`repro.tables.explain_rule`, stated under every
explanation. An image's share of a shift is its part of all the per-image movement
(``|change| / sum |change|``, the shares' sizes add up to 100 %), signed + where it moves the
set's mean the way the set moved and - against it; shares are given only for a shift that is
not zero at the metric's printed precision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from repro.errors import ReproError
from repro.metrics import get_metric
from repro.tables.compare import Cell, CellStatus
from repro.tables.context import RunContext
from repro.tables.explain import Explanation, VariantResult, explain_cell
from repro.tables.explain_cost import cost_explanation, cost_markdown
from repro.tables.explain_rule import EXPLAINS, MATERIAL
from repro.tables.run import is_cost
from repro.tables.spec import column_key

SHARES = (
    "share: the image's part of all the per-image movement (sizes add up to 100 %), + with the "
    "set's shift, - against it; given only for a shift that is not zero at the printed precision"
)


def _num(value: float, decimals: int, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    if round(value, decimals) == 0:
        value = 0.0  # "-0.0000" would read as a loss
    return f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"


def moved(v: VariantResult, decimals: int) -> bool:
    """Is the variant's shift non-zero at the metric's printed precision?"""
    return math.isfinite(v.shift) and round(abs(v.shift), decimals) > 0


def shares(v: VariantResult) -> dict[str, float]:
    """Image -> its signed share (-1..1) of all the per-image movement (see the module)."""
    total = sum(abs(s.contribution) for s in v.images)
    if not total or not v.shift:
        return {}
    sign = math.copysign(1.0, v.shift)
    return {s.image: sign * s.contribution / total for s in v.images if s.contribution}


def _share(value: float) -> str:
    return f"{100 * value:+.0f}%"


def _carried(v: VariantResult, decimals: int, n: int = 2) -> str:
    """The images that carry a variant's shift, e.g. 'bridge +100%' ('-' when nothing moved
    at the printed precision)."""
    if not moved(v, decimals):
        return "-"
    share = shares(v)
    shown = [s for s in v.images[:n] if s.image in share]
    return ", ".join(f"{s.image} {_share(share[s.image])}" for s in shown) or "-"


def _cell_name(e: Explanation) -> str:
    metric = e.metric + (f"@{e.column_variant}" if e.column_variant else "")
    return f"{e.label} · {e.dataset} x{e.scale} · {metric}"


def _base_words(e: Explanation) -> str:
    if not e.base_overrides:
        return f"{e.base} (the table's protocol)"
    changed = " ".join(f"{k}={v}" for k, v in e.base_overrides.items())
    return f"{e.base} (the table's protocol with {changed})"


def _focus(e: Explanation, decimals: int) -> tuple[list[VariantResult], str]:
    """The variants worth a per-image breakdown (those that moved), and why."""
    if e.explaining:
        return e.explaining, "explains the gap"
    if e.status != CellStatus.PASS and e.variants:
        closest = min(e.variants, key=lambda v: abs(v.delta))
        if moved(closest, decimals):
            return [closest], "comes closest without explaining the gap"
    return [], ""


def _summary(e: Explanation, decimals: int) -> str:
    if e.explaining:
        names = "; ".join(f"{v.change} ({v.label})" for v in e.explaining)
        return (
            f"explained by {names}: that change alone lands within tolerance and moves Δ by at "
            f"least {MATERIAL:g} x the tolerance"
        )
    if e.status == CellStatus.PASS:
        out = [v.change for v in e.variants if v.status != CellStatus.PASS]
        moves = ", ".join(out) if out else "none"
        return f"the cell passes; changes that alone would move it out of tolerance: {moves}"
    nudged = ""
    if e.nudging:
        names = ", ".join(f"{v.change} (shift {_num(v.shift, decimals, True)})" for v in e.nudging)
        nudged = (
            f"; {names} lands within it by less than {MATERIAL:g} x the tolerance "
            f"(±{_num(MATERIAL * e.tolerance, decimals + 1)}): not an explanation"
        )
    if e.within_noise:
        excess = abs(e.delta) - e.tolerance
        return (
            f"within noise of the tolerance: |Δ| exceeds it by {_num(excess, decimals + 1)}, "
            f"less than {MATERIAL:g} x the tolerance, and no change explains it" + nudged
        )
    return "no single change explains the gap: it has another cause, or several" + nudged


def format_text(e: Explanation, images: int = 5) -> str:
    """The readable terminal output: the cell, one line per variant, the images that carry
    the gap, and how long it took with how many SR outputs came from the cache."""
    d = get_metric(e.metric).decimals
    count = f"{e.images} of {e.images_total} images" if e.images_total else f"{e.images} images"
    if e.partial:
        count += "; PARTIAL: the verdicts are only indicative"
    lines = [
        f"{e.table} · {_cell_name(e)}",
        f"base: {_base_words(e)}",
        f"reported {_num(e.reported, d)}   reproduced {_num(e.mean, d)}   "
        f"Δ {_num(e.delta, d, True)}   {e.status} (tolerance ±{_num(e.tolerance, d)}, {count})",
        *([f"⚑ the paper's number: {e.anomaly}"] if e.anomaly else []),
        "",
        f"{'one change from the base':<50} {'mean':>8} {'shift':>8} {'Δ':>8}  "
        f"{'alone':<9} carried by",
    ]
    for v in e.variants:
        lines.append(
            f"{v.label[:50]:<50} {_num(v.mean, d):>8} {_num(v.shift, d, True):>8} "
            f"{_num(v.delta, d, True):>8}  {v.status:<9} {_carried(v, d)}"
        )
    for s in e.skipped:
        lines.append(f"not varied: {s['axis']} ({s['reason']})")
    lines += ["", _summary(e, d)]
    focus, why = _focus(e, d)
    for v in focus:
        share = shares(v)
        lines += ["", f"{v.change} {why}, shift {_num(v.shift, d, True)}; per image:"]
        lines.append(
            f"  {'image':<20} {'base':>10} {'variant':>10} {'change / n':>12} {'share':>7}"
        )
        for s in [s for s in v.images if s.image in share][:images]:
            lines.append(
                f"  {s.image[:20]:<20} {_num(s.base, d):>10} {_num(s.value, d):>10} "
                f"{_num(s.contribution, d + 1, True):>12} {_share(share[s.image]):>7}"
            )
    lines += ["", f"rule: {EXPLAINS}", f"{SHARES}"]
    t = e.timing
    cache = "" if t["cache"] else " (--no-cache)"
    lines += [
        "",
        f"took {t['seconds']:.1f} s: {t['forward_passes']} SR outputs computed "
        f"({t['forward_seconds']:.1f} s), {t['from_cache']} from the cache{cache}",
    ]
    return "\n".join(lines)


def explain_markdown(e: Explanation, images: int = 5, level: int = 3) -> str:
    """A report section ("Explaining the gaps") for one cell, headed at ``level``."""
    d = get_metric(e.metric).decimals
    out = [
        f"{'#' * level} {_cell_name(e)}",
        "",
        f"Reported {_num(e.reported, d)}, reproduced {_num(e.mean, d)} "
        f"(Δ {_num(e.delta, d, True)}, {e.status}, tolerance ±{_num(e.tolerance, d)}) under "
        f"{_base_words(e)}. Each line changes one thing and re-scores the same images"
        + (f" ({e.images} of {e.images_total}: indicative only)." if e.partial else "."),
        *(["", f"⚑ The paper's number: {e.anomaly}."] if e.anomaly else []),
        "",
        "| one change | mean | shift | Δ | alone | carried by |",
        "|---|---:|---:|---:|---|---|",
    ]
    for v in e.variants:
        out.append(
            f"| {v.label} (`{v.change}`) | {_num(v.mean, d)} | {_num(v.shift, d, True)} | "
            f"{_num(v.delta, d, True)} | {v.status} | {_carried(v, d, 3)} |"
        )
    summary = _summary(e, d)
    out += ["", summary[0].upper() + summary[1:] + "."]
    if e.skipped:
        skipped = "; ".join(f"{s['axis']} ({s['reason']})" for s in e.skipped)
        out += ["", f"Not varied: {skipped}."]
    focus, why = _focus(e, d)
    for v in focus:
        share = shares(v)
        out += [
            "",
            f"`{v.change}` {why}, shift {_num(v.shift, d, True)}; per image:",
            "",
            "| image | base | variant | change / n | share |",
            "|---|---:|---:|---:|---:|",
        ]
        for s in [s for s in v.images if s.image in share][:images]:
            out.append(
                f"| {s.image} | {_num(s.base, d)} | {_num(s.value, d)} | "
                f"{_num(s.contribution, d + 1, True)} | {_share(share[s.image])} |"
            )
    out += ["", f"Rule: {EXPLAINS}. {SHARES[0].upper()}{SHARES[1:]}."]
    return "\n".join(out) + "\n"


def gaps_markdown(
    ctx: RunContext, cells: Iterable[Cell], *, level: int = 2, vary: tuple[str, ...] | None = None
) -> str:
    """The "Explaining the gaps" section of a report: each FAIL or IMPROVED cell of ``cells``
    explained on the run's context: an image cell re-scored (:func:`explain_cell`: the datasets
    and models the run opened and loaded are reused; one that cannot be re-scored here is listed
    with the reason), a cost cell by what decides it (its value as measured). '' when no cell
    has a gap."""
    gaps = [
        c
        for c in cells
        if c.status in (CellStatus.FAIL, CellStatus.IMPROVED)
        and (is_cost(c.metric) or (c.dataset and not get_metric(c.metric).set_level))
    ]
    if not gaps:
        return ""
    spec = ctx.spec
    out = [f"{'#' * level} Explaining the gaps", ""]
    for c in gaps:
        metric = c.metric + (f"@{c.variant}" if c.variant else "")
        if is_cost(c.metric):
            row = next(r for r in spec.rows if r.id == c.row)
            col = next(
                k for k in spec.columns if k.key == column_key(c.dataset, c.metric, c.variant)
            )
            out.append(cost_markdown(cost_explanation(spec, row, col, c.reproduced), level + 1))
            continue
        try:
            e = explain_cell(ctx, c.row, c.dataset, metric, vary=vary)
        except ReproError as exc:
            why = " ".join(str(exc).split())
            out += [f"- {c.label} · {c.dataset} · {metric}: not re-scored here ({why})", ""]
            continue
        out.append(explain_markdown(e, level=level + 1))
    return "\n".join(out).rstrip("\n") + "\n"
