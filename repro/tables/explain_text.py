"""An :class:`~repro.tables.explain.Explanation` as terminal text and as a markdown section.

The markdown holds no timings, so that a report section changes only when the numbers do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from repro.errors import ReproError
from repro.metrics import get_metric
from repro.tables.compare import Cell, CellStatus
from repro.tables.context import RunContext
from repro.tables.explain import Explanation, VariantResult, explain_cell
from repro.tables.run import is_cost


def _num(value: float, decimals: int, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"


def _carried(v: VariantResult, n: int = 2) -> str:
    """The images that carry a variant's shift, e.g. 'bridge 100%' ('-' when nothing moved)."""
    if not v.shift or not math.isfinite(v.shift):
        return "-"
    shown = [s for s in v.images[:n] if s.contribution]
    return ", ".join(f"{s.image} {100 * s.contribution / v.shift:.0f}%" for s in shown) or "-"


def _cell_name(e: Explanation) -> str:
    metric = e.metric + (f"@{e.column_variant}" if e.column_variant else "")
    return f"{e.label} · {e.dataset} x{e.scale} · {metric}"


def _base_words(e: Explanation) -> str:
    if not e.base_overrides:
        return f"{e.base} (the table's protocol)"
    changed = " ".join(f"{k}={v}" for k, v in e.base_overrides.items())
    return f"{e.base} (the table's protocol with {changed})"


def _focus(e: Explanation) -> tuple[list[VariantResult], str]:
    """The variants worth a per-image breakdown, and why."""
    if e.explaining:
        return e.explaining, "alone lands within tolerance"
    if e.status != CellStatus.PASS and e.variants:
        closest = min(e.variants, key=lambda v: abs(v.delta))
        return [closest], "comes closest (no single change lands within tolerance)"
    return [], ""


def _summary(e: Explanation) -> str:
    if e.explaining:
        names = "; ".join(f"{v.change} ({v.label})" for v in e.explaining)
        return f"explained by {names}: that change alone lands within tolerance"
    if e.status == CellStatus.PASS:
        out = [v.change for v in e.variants if v.status != CellStatus.PASS]
        moves = ", ".join(out) if out else "none"
        return f"the cell passes; changes that alone would move it out of tolerance: {moves}"
    return "no single change lands within tolerance: the gap has another cause, or several"


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
        "",
        f"{'one change from the base':<50} {'mean':>8} {'shift':>8} {'Δ':>8}  "
        f"{'alone':<9} carried by",
    ]
    for v in e.variants:
        lines.append(
            f"{v.label[:50]:<50} {_num(v.mean, d):>8} {_num(v.shift, d, True):>8} "
            f"{_num(v.delta, d, True):>8}  {v.status:<9} {_carried(v)}"
        )
    for s in e.skipped:
        lines.append(f"not varied: {s['axis']} ({s['reason']})")
    lines += ["", _summary(e)]
    focus, why = _focus(e)
    for v in focus:
        lines += ["", f"{v.change} {why} (Δ {_num(v.delta, d, True)}); per image:"]
        lines.append(f"  {'image':<20} {'base':>10} {'variant':>10} {'share of the mean':>18}")
        for s in [s for s in v.images if s.contribution][:images]:
            lines.append(
                f"  {s.image[:20]:<20} {_num(s.base, d):>10} {_num(s.value, d):>10} "
                f"{_num(s.contribution, d + 1, True):>18}"
            )
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
        "",
        "| one change | mean | shift | Δ | alone | carried by |",
        "|---|---:|---:|---:|---|---|",
    ]
    for v in e.variants:
        out.append(
            f"| {v.label} (`{v.change}`) | {_num(v.mean, d)} | {_num(v.shift, d, True)} | "
            f"{_num(v.delta, d, True)} | {v.status} | {_carried(v, 3)} |"
        )
    summary = _summary(e)
    out += ["", summary[0].upper() + summary[1:] + "."]
    if e.skipped:
        skipped = "; ".join(f"{s['axis']} ({s['reason']})" for s in e.skipped)
        out += ["", f"Not varied: {skipped}."]
    focus, why = _focus(e)
    for v in focus:
        out += [
            "",
            f"`{v.change}` {why}; per image:",
            "",
            "| image | base | variant | share of the mean |",
            "|---|---:|---:|---:|",
        ]
        for s in [s for s in v.images if s.contribution][:images]:
            out.append(
                f"| {s.image} | {_num(s.base, d)} | {_num(s.value, d)} | "
                f"{_num(s.contribution, d + 1, True)} |"
            )
    return "\n".join(out) + "\n"


def gaps_markdown(
    ctx: RunContext, cells: Iterable[Cell], *, level: int = 2, vary: tuple[str, ...] | None = None
) -> str:
    """The "Explaining the gaps" section of a report: each FAIL or IMPROVED image cell of
    ``cells`` explained on the run's context (:func:`explain_cell`: the datasets and models the
    run opened and loaded are reused); a cell that cannot be re-scored here is listed with the
    reason. '' when no cell has a gap."""
    gaps = [
        c
        for c in cells
        if c.status in (CellStatus.FAIL, CellStatus.IMPROVED)
        and c.dataset
        and not is_cost(c.metric)
        and not get_metric(c.metric).set_level
    ]
    if not gaps:
        return ""
    out = [f"{'#' * level} Explaining the gaps", ""]
    for c in gaps:
        metric = c.metric + (f"@{c.variant}" if c.variant else "")
        try:
            e = explain_cell(ctx, c.row, c.dataset, metric, vary=vary)
        except ReproError as exc:
            why = " ".join(str(exc).split())
            out += [f"- {c.label} · {c.dataset} · {metric}: not re-scored here ({why})", ""]
            continue
        out.append(explain_markdown(e, level=level + 1))
    return "\n".join(out).rstrip("\n") + "\n"
