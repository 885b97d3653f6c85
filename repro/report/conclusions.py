"""The paper's claims in a report: the conclusions first (each claim, its test, the verdict on the
paper's own numbers and on the numbers reproduced here), and every comparison in an appendix."""

from __future__ import annotations

import math

from repro.report.markdown import fmt, fmt_delta
from repro.tables.claim_verdicts import ClaimResult, ClaimStatus, Comparison
from repro.tables.compare import status_label

_MARK = {ClaimStatus.HOLDS: "✅", ClaimStatus.FAILS: "❌"}


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def quantity(claim: ClaimResult, value: float | None, metric: str) -> str:
    """A tested quantity as printed: a ratio to 3 decimals, a change in %, a difference or an
    order's margin signed, with its metric's decimals."""
    if value is None or not math.isfinite(value):
        return "–"
    if claim.form == "ratio":
        return f"{value:.3f}"
    if claim.form == "change":
        return f"{value:+.1f} %"
    if claim.form in ("difference", "order"):
        return fmt_delta(value, metric)
    return fmt(value, metric)


def _numbers(claim: ClaimResult, side: str) -> str:
    """The numbers behind a verdict: one comparison's quantity, or 'k of n hold (low … high)'
    (only the span, where the verdict is not decided)."""
    known = [c for c in claim.comparisons if _finite(getattr(c, side))]
    if not known:
        return ""
    if len(claim.comparisons) == 1:
        return _shown(claim, known[0], side)
    low = min(known, key=lambda c: getattr(c, side))
    high = max(known, key=lambda c: getattr(c, side))
    span = f"{quantity(claim, getattr(low, side), low.metric)} … "
    span += quantity(claim, getattr(high, side), high.metric)
    verdict = "holds" if side == "value" else "paper_holds"
    if any(getattr(c, verdict) is None for c in claim.comparisons):
        return f"({span})"
    held = sum(getattr(c, verdict) for c in claim.comparisons)
    return f"{held} of {len(claim.comparisons)} hold ({span})"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _shown(claim: ClaimResult, comp: Comparison, side: str) -> str:
    """One comparison's quantity; reproduced, with the range its timing spreads allow."""
    text = quantity(claim, getattr(comp, side), comp.metric)
    if side == "value" and comp.spread:
        low, high = (quantity(claim, v, comp.metric) for v in comp.spread)
        text += f" [{low}, {high}]"
    return text


def _verdict(status: ClaimStatus | None, code: str | None = None) -> str:
    if status is None:
        return "not printed"
    label = status_label(status, code)
    return f"{_MARK[status]} {label}" if status in _MARK else label


def conclusions_section(claims: list[ClaimResult]) -> str:
    """'The paper's claims': one row per claim, the verdicts on the paper's numbers and here."""
    if not claims:
        return ""
    out = [
        "## The paper's claims",
        "",
        "Each claim as the paper states it, the test that checks it, and its verdict on the "
        "paper's own printed numbers and on the numbers reproduced here (judged only on complete, "
        "stable cells: otherwise PARTIAL or NOT-RUN).",
        "",
        "| claim | where | test | the paper's numbers | reproduced here |",
        "|---|---|---|---|---|",
    ]
    for c in claims:
        paper = " ".join(filter(None, [_numbers(c, "paper"), _verdict(c.paper)]))
        if c.contradicted:
            paper += " ⚠ contradicted by its own numbers"
        here = " ".join(filter(None, [_numbers(c, "value"), _verdict(c.status, c.code)]))
        out.append(
            f"| **{_md(c.id)}**: “{_md(c.text)}” | {_md(c.where)} | {_md(c.test)} | "
            f"{_md(paper)} | {_md(here)} |"
        )
    notes = [c for c in claims if c.contradicted or c.reason]
    if notes:
        out += [""]
        for c in notes:
            if c.contradicted:
                out.append(f"- **{_md(c.id)}**, contradicted by the paper: {_md(c.contradicted)}")
            if c.reason:
                out.append(f"- **{_md(c.id)}**, {_verdict(c.status, c.code)}: {_md(c.reason)}")
    return "\n".join(out)


def _comparison_row(claim: ClaimResult, comp: Comparison) -> str:
    def verdict(ok: bool | None) -> str:
        return "–" if ok is None else ("✅" if ok else "❌")

    paper = quantity(claim, comp.paper, comp.metric)
    return (
        f"| {_md(claim.id)} | {_md(' vs '.join(comp.cells))} | {paper} "
        f"{verdict(comp.paper_holds)} | {_shown(claim, comp, 'value')} {verdict(comp.holds)} |"
    )


def comparisons_section(claims: list[ClaimResult]) -> str:
    """The appendix: every comparison of every tested claim, paper's numbers and reproduced."""
    rows = [_comparison_row(c, comp) for c in claims for comp in c.comparisons]
    if not rows:
        return ""
    head = [
        "## Appendix: every comparison of the claims",
        "",
        "| claim | cells | the paper's numbers | reproduced here |",
        "|---|---|---|---|",
    ]
    return "\n".join(head + rows)
