"""Judge a table's claims (:mod:`repro.tables.claims`) on its compared cells.

A claim is judged only on what was measured: a comparison that needs a cell without a
reproduced value makes the claim NOT-RUN (with that cell's code and reason); one over a PARTIAL
or UNSTABLE cell, or whose timing spread straddles the claim's bound, makes it PARTIAL. Only
when every comparison is decided is the claim HOLDS or FAILS. The same test runs on the
paper's own printed numbers: a claim the paper's table contradicts shows it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from repro.errors import NotRunCode
from repro.metrics import get_metric
from repro.tables.claims import Claim
from repro.tables.compare import Cell, CellStatus
from repro.tables.spec import column_key

_EPS = 1e-9  # printed numbers are decimals: 29.54 - 29.19 is not exactly 0.35


class ClaimStatus(StrEnum):
    HOLDS = "HOLDS"
    FAILS = "FAILS"
    PARTIAL = "PARTIAL"  # over a subset of images, an unstable cell or an undecided spread
    NOT_RUN = "NOT-RUN"  # a cell it needs was not measured (or the claim cannot be tested)


@dataclass
class Comparison:
    """One comparison of a claim, on the reproduced and on the printed numbers."""

    cells: list[str]  # 'row label [column key]', in the form's order
    metric: str  # the metric the cells share
    value: float | None  # the tested quantity on the reproduced numbers
    spread: list[float] | None  # its range from the cells' timing spreads, if any
    holds: bool | None  # None: not decided (missing, partial, or the spread straddles)
    paper: float | None  # the quantity on the paper's printed numbers (None: not printed)
    paper_holds: bool | None


@dataclass
class ClaimResult:
    id: str
    text: str
    where: str
    form: str | None  # order, difference, ratio, change, value; None: not testable here
    test: str  # the test in words (Claim.describe)
    status: ClaimStatus
    code: NotRunCode | None  # for NOT-RUN: the code of the cell (or claim) that holds it back
    reason: str | None
    held: int  # comparisons that hold on the reproduced numbers
    needed: int
    paper: ClaimStatus | None  # the test on the paper's numbers: HOLDS, FAILS, None (unprinted)
    contradicted: str | None  # the spec's note: the paper's own numbers contradict the claim
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def margin(self) -> float | None:
        """The tested quantity of a one-comparison claim (None for several)."""
        return self.comparisons[0].value if len(self.comparisons) == 1 else None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["status"] = str(self.status)
        d["code"] = str(self.code) if self.code else None
        d["paper"] = str(self.paper) if self.paper else None
        return d


@dataclass(frozen=True)
class _Operand:
    """A cell as a comparison reads it: its value and interval, or why it has none."""

    name: str
    value: float | None
    low: float | None
    high: float | None
    printed: float | None
    missing: tuple[NotRunCode, str] | None = None
    undecided: str | None = None  # PARTIAL or UNSTABLE: the value decides nothing


def _operand(cell: Cell, printed_others: bool) -> _Operand:
    name = f"{cell.label} [{column_key(cell.dataset, cell.metric, cell.variant)}]"
    printed = cell.reported
    value = cell.reproduced
    if cell.status == CellStatus.REPORTED_ONLY:
        if printed_others and printed is not None:
            return _Operand(name, float(printed), float(printed), float(printed), printed)
        why = "another method; this suite does not run it"
        return _Operand(name, None, None, None, printed, (NotRunCode.NOT_IMPLEMENTED, why))
    finite = isinstance(value, (int, float)) and math.isfinite(value)
    if cell.status == CellStatus.NOT_RUN or not finite:
        code = cell.code or NotRunCode.NOT_IMPLEMENTED
        return _Operand(name, None, None, None, printed, (code, cell.reason or "no value"))
    low, high = (cell.spread or (value, value))[:2]
    low, high = min(low, value), max(high, value)
    undecided = None
    if cell.status in (CellStatus.PARTIAL, CellStatus.UNSTABLE):
        undecided = f"{name} is {cell.status}: {cell.reason}"
    return _Operand(name, float(value), float(low), float(high), printed, None, undecided)


def _quantity(form: str, ops: list[_Operand], higher: bool) -> tuple[float, float, float]:
    """(value, low, high) of the tested quantity; low/high from the operands' intervals."""
    if form == "value":
        return ops[0].value, ops[0].low, ops[0].high
    if form == "order":  # the smallest margin of each cell over the next
        sign = 1.0 if higher else -1.0
        margins = []
        for a, b in zip(ops, ops[1:], strict=False):
            ends = sorted((sign * (a.low - b.high), sign * (a.high - b.low)))
            margins.append((sign * (a.value - b.value), *ends))
        return tuple(min(m[i] for m in margins) for i in range(3))
    a, b = ops
    if form == "difference":
        return a.value - b.value, a.low - b.high, a.high - b.low
    if b.value == 0 or b.low <= 0 <= b.high:  # no ratio to a zero (or sign-changing) value
        return math.nan, math.nan, math.nan
    ratios = [x / y for x in (a.low, a.high) for y in (b.low, b.high)]
    scale, offset = (100.0, 1.0) if form == "change" else (1.0, 0.0)
    return (
        (a.value / b.value - offset) * scale,
        (min(ratios) - offset) * scale,
        (max(ratios) - offset) * scale,
    )


def _passes(claim: Claim, q: float) -> bool:
    """Does a quantity pass the claim's test?"""
    if math.isnan(q):
        return False
    if claim.form == "order":  # better by more than nothing; a tie within a tolerance holds
        return q > -claim.tolerance if claim.tolerance else q > _EPS
    low, high = claim.range
    tol = claim.tolerance + _EPS
    return (low is None or q >= low - tol) and (high is None or q <= high + tol)


def _decide(claim: Claim, low: float, high: float) -> bool | None:
    """True/False when the whole interval passes/fails the test, None when it straddles."""
    a, b = _passes(claim, low), _passes(claim, high)
    if a and b:  # the passing set is an interval: both ends in it, all of it is
        return True
    if a or b:
        return None
    # both ends fail: all of it fails unless the interval spans a closed range
    spans = claim.form != "order" and None not in claim.range and low < claim.range[0] < high
    return None if spans else False


def _printed(claim: Claim, ops: list[_Operand], higher: bool) -> tuple[float | None, bool | None]:
    """The quantity on the paper's printed numbers and whether it passes; None if unprinted."""
    if any(op.printed is None for op in ops):
        return None, None
    exact = [_Operand(op.name, *(float(op.printed),) * 3, None) for op in ops]
    q = _quantity(claim.form, exact, higher)[0]
    return (None, None) if math.isnan(q) else (q, _passes(claim, q))


def _new_result(claim: Claim, by_key: dict[tuple[str, str], Cell]) -> ClaimResult:
    ways = ""
    if claim.form == "order":  # which way is better, from the metrics
        refs = [r for comparison in claim.comparisons for r in comparison]
        metrics = dict.fromkeys(by_key[(r.row, r.column)].metric for r in refs)
        ways = ", ".join(
            f"{'higher' if get_metric(m).higher_is_better else 'lower'} {m}" for m in metrics
        )
        ways += " is better"
    test = claim.describe(ways)
    return ClaimResult(
        claim.id,
        claim.text,
        claim.where,
        claim.form,
        test,
        ClaimStatus.NOT_RUN,
        claim.status,
        claim.reason,
        held=0,
        needed=claim.needed,
        paper=None,
        contradicted=claim.contradicted,
    )


def _judge(claim: Claim, by_key: dict[tuple[str, str], Cell]) -> ClaimResult:
    result = _new_result(claim, by_key)
    if claim.form is None:
        return result
    missing: tuple[NotRunCode, str] | None = None
    undecided: str | None = None
    paper_held, paper_known = 0, True
    for refs in claim.comparisons:
        cells = [by_key[(ref.row, ref.column)] for ref in refs]
        ops = [_operand(c, claim.printed_others) for c in cells]
        higher = get_metric(cells[0].metric).higher_is_better
        paper_q, paper_ok = _printed(claim, ops, higher)
        paper_known = paper_known and paper_ok is not None
        paper_held += bool(paper_ok)
        comparison = Comparison(
            [op.name for op in ops], cells[0].metric, None, None, None, paper_q, paper_ok
        )
        result.comparisons.append(comparison)
        gap = next((op for op in ops if op.missing), None)
        if gap is not None:
            missing = missing or (gap.missing[0], f"{gap.name}: {gap.missing[1]}")
            continue
        value, low, high = _quantity(claim.form, ops, higher)
        if math.isnan(value):  # a ratio to zero
            why = f"{ops[1].name} is 0 (or its spread spans 0): no {claim.form} to it"
            missing = missing or (NotRunCode.NOT_IMPLEMENTED, why)
            continue
        comparison.value = value
        if low != high:
            comparison.spread = [low, high]
        why = next((op.undecided for op in ops if op.undecided), None)
        decided = _decide(claim, low, high)
        if why is None and decided is None:
            why = f"the timing spread of {', '.join(comparison.cells)} straddles the claim's bound"
        if why is None:
            comparison.holds = decided
            result.held += decided
        undecided = undecided or why
    if paper_known:
        result.paper = ClaimStatus.HOLDS if paper_held >= claim.needed else ClaimStatus.FAILS
    if missing:
        result.code, result.reason = missing
    elif undecided:
        result.status, result.reason = ClaimStatus.PARTIAL, undecided
    else:
        ok = result.held >= claim.needed
        result.status = ClaimStatus.HOLDS if ok else ClaimStatus.FAILS
    return result


def judge_claims(claims: tuple[Claim, ...], cells: list[Cell]) -> list[ClaimResult]:
    """Each claim judged on the reproduced values (and, beside, on the printed ones)."""
    by_key = {(c.row, column_key(c.dataset, c.metric, c.variant)): c for c in cells}
    return [_judge(claim, by_key) for claim in claims]


def claim_counts(claims: list[dict]) -> dict[str, int]:
    """Saved claims (``cells.json``) by status, in ClaimStatus order; a malformed one raises
    TypeError or KeyError, a status no claim has ValueError."""
    statuses = [str(ClaimStatus(c["status"])) for c in claims]
    return {s: statuses.count(s) for s in map(str, ClaimStatus) if s in statuses}
