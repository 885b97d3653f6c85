"""The claim language of a table spec: a paper's conclusions over its cells, typed and checked
when the spec is read (the keys: ``repro/tables/README.md``, "Claims").

A claim quotes the paper (``text``, ``where``) and states one test (a *form*) over groups of
cells: ``order`` (best first, in each metric's direction), ``difference`` (a - b), ``ratio``
(a / b), ``change`` (100 (a - b) / b, in %) or ``value`` (a), the last four against a
``range``. An operand is a row id (its column taken from ``columns``), ``{column: key}`` (its
row taken from ``rows``) or ``{row: id, column: key}``; every group is tested on every entry of
that scope, and the claim holds when ``at_least`` of these comparisons hold (default: all of
them). A claim no released model or device here can test gives ``status`` and ``reason``
instead of a form. Judging: :mod:`repro.tables.claim_verdicts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from repro.data.fields import Fields, is_count, is_text, join
from repro.errors import SPEC_CODES, NotRunCode, did_you_mean

# form -> (fewest, most) cells per comparison; None: no upper bound
FORMS: dict[str, tuple[int, int | None]] = {
    "order": (2, None),
    "difference": (2, 2),
    "ratio": (2, 2),
    "change": (2, 2),
    "value": (1, 1),
}
CLAIM_KEYS = (
    *("id", "text", "where", *FORMS, "columns", "rows", "range", "tolerance", "at_least"),
    *("printed_others", "contradicted", "status", "reason"),
)
_UNITS = {"change": " %"}


@dataclass(frozen=True)
class CellRef:
    row: str
    column: str  # a column key, e.g. "Set5/psnr"


@dataclass(frozen=True)
class Claim:
    """One conclusion of the paper and the test that checks it on the table's cells."""

    id: str
    text: str  # the paper's words
    where: str  # where the paper says it: section, table, caption
    form: str | None  # None: not testable here (status and reason say why)
    comparisons: tuple[tuple[CellRef, ...], ...] = ()  # each: its cells, in the form's order
    range: tuple[float | None, float | None] | None = None  # [low, high]; None: open
    tolerance: float = 0.0  # slack on the bounds (order: a tie within it still holds)
    at_least: int | None = None  # comparisons that must hold; None: all
    printed_others: bool = False  # another method's row enters with its printed number
    contradicted: str | None = None  # the paper's own numbers contradict it: how
    status: NotRunCode | None = None
    reason: str | None = None

    @property
    def needed(self) -> int:
        return self.at_least or len(self.comparisons)

    def describe(self, direction: str = "") -> str:
        """The test in words: 'ratio ≤ 0.75 (± 0.02)'; ``direction`` says which way an order
        runs ('higher psnr is better')."""
        if self.form is None:
            return "not testable here"
        if self.form == "order":
            text = "each better than the next" + (f" ({direction})" if direction else "")
            if self.tolerance:
                text += f", ties within {self.tolerance:g} allowed"
        else:
            low, high = self.range
            unit = _UNITS.get(self.form, "")
            if low is not None and high is not None:
                bound = f"= {low:g}{unit}" if low == high else f"in [{low:g}, {high:g}]{unit}"
            else:
                bound = f"≥ {low:g}{unit}" if high is None else f"≤ {high:g}{unit}"
            text = f"{self.form} {bound}" + (f" (± {self.tolerance:g})" if self.tolerance else "")
        n = len(self.comparisons)
        if n > 1:
            text += (
                f"; all {n} comparisons"
                if self.at_least is None
                else (f"; at least {self.at_least} of {n} comparisons")
            )
        return text


# --------------------------------------------------------------------------- parsing
def _is_operand(value: object) -> bool:
    if is_text(value):
        return True
    return (
        isinstance(value, dict)
        and bool(value)
        and set(value) <= {"row", "column"}
        and all(is_text(v) for v in value.values())
    )


_OPERAND = "a row id, or a mapping {row: id, column: key} with either key"


def _groups(f: Fields, raw: dict, w: str, form: str) -> list[list]:
    """The form's operand groups: one list of operands, or a list of such lists."""
    value = raw[form]
    key = join(w, form)
    if not isinstance(value, list) or not value:
        raise f.expected(key, f"a list of operands ({_OPERAND}) or a list of such lists", value)
    groups = value if all(isinstance(v, list) for v in value) else [value]
    fewest, most = FORMS[form]
    for i, group in enumerate(groups):
        where = join(key, i) if groups is value else key
        for j, operand in enumerate(group):
            if not _is_operand(operand):
                raise f.expected(join(where, j), _OPERAND, operand)
        if len(group) < fewest or (most is not None and len(group) > most):
            count = f"{fewest}" if fewest == most else f"at least {fewest}"
            raise f.expected(where, f"{count} operand(s) for '{form}'", group)
    return groups


def _column_keys(f: Fields, raw: dict, w: str, columns: dict[str, object]) -> list[str]:
    """``columns``: column keys; '*/metric[/variant]' stands for every dataset's column."""
    out: list[str] = []
    for i, key in enumerate(f.items(raw, w, "columns", is_text, "a column key")):
        if key.startswith("*/"):
            tail = key[2:]
            found = [k for k, c in columns.items() if c.dataset and k.split("/", 1)[1] == tail]
            if not found:
                raise f.error(f"key '{join(join(w, 'columns'), i)}': no column matches '{key}'")
            out += [k for k in found if k not in out]
        elif key not in columns:
            hint = did_you_mean(key, list(columns))
            raise f.error(f"key '{join(join(w, 'columns'), i)}': unknown column '{key}'; {hint}")
        elif key not in out:
            out.append(key)
    return out


def _range(f: Fields, raw: dict, w: str, form: str) -> tuple[float | None, float | None] | None:
    value = raw.get("range")
    key = join(w, "range")
    if form == "order":
        if value is not None:
            raise f.error(f"key '{key}': an 'order' claim has no range")
        return None
    what = "[low, high]: two numbers or null (open), not both null, low <= high"
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(v is None or _is_real(v) for v in value)
        and value != [None, None]
    )
    if not ok or (None not in value and value[0] > value[1]):
        raise f.expected(key, what, value)
    low, high = value
    return (None if low is None else float(low), None if high is None else float(high))


def _is_real(value: object) -> bool:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return ok and math.isfinite(value)


def _comparisons(f, raw, w, form, rows, columns) -> tuple[tuple[CellRef, ...], ...]:
    """Every comparison of the claim: each operand group on each entry of its scope."""
    groups = _groups(f, raw, w, form)
    operands = [op if isinstance(op, dict) else {"row": op} for g in groups for op in g]
    no_column = any("column" not in op for op in operands)
    no_row = any("row" not in op for op in operands)
    if no_column and no_row:
        raise f.error(
            f"key '{join(w, form)}': give operands either rows (then 'columns') or columns "
            "(then 'rows'), not both"
        )
    scope_cols = _column_keys(f, raw, w, columns) if "columns" in raw else []
    scope_rows = list(f.items(raw, w, "rows", is_text, "a row id"))
    if no_column and not scope_cols:
        raise f.error(f"key '{join(w, 'columns')}' is missing: the operands name rows only")
    if no_row and not scope_rows:
        raise f.error(f"key '{join(w, 'rows')}' is missing: the operands name columns only")
    if ("columns" in raw and not no_column) or ("rows" in raw and not no_row):
        raise f.error(f"key '{w}': 'columns' or 'rows' given, but every operand names its own")
    for rid in [*scope_rows, *(op["row"] for op in operands if "row" in op)]:
        if rid not in rows:
            hint = did_you_mean(rid, list(rows))
            raise f.error(f"key '{w}': unknown row '{rid}'; {hint}")
    for op in operands:
        if "column" in op and op["column"] not in columns:
            hint = did_you_mean(op["column"], list(columns))
            raise f.error(f"key '{w}': unknown column '{op['column']}'; {hint}")
    out = []
    for group in groups:
        group = [op if isinstance(op, dict) else {"row": op} for op in group]
        scope = scope_cols if no_column else scope_rows if no_row else [None]
        for entry in scope:
            cells = tuple(
                CellRef(
                    op.get("row", entry),
                    op.get("column", entry),
                )
                for op in group
            )
            _check_comparison(f, w, form, cells, columns)
            out.append(cells)
    return tuple(out)


def _check_comparison(f, w, form, cells: tuple[CellRef, ...], columns: dict) -> None:
    """One comparison must be possible: distinct cells of one metric."""
    if len(set(cells)) < len(cells):
        twice = next(c for c in cells if cells.count(c) > 1)
        raise f.error(
            f"key '{join(w, form)}': compares row '{twice.row}' on '{twice.column}' with itself"
        )
    metrics = {columns[c.column].metric for c in cells}
    if len(metrics) > 1:
        names = " with ".join(c.column for c in cells)
        raise f.error(
            f"key '{join(w, form)}': compares {names}: the cells of one comparison share a metric"
        )


def parse_claims(f: Fields, raw: dict, rows: dict, columns: dict) -> tuple[Claim, ...]:
    """The spec's ``claims``; ``rows``/``columns``: the spec's rows by id, columns by key."""
    claims: list[Claim] = []
    is_claim = (lambda v: isinstance(v, dict), "a mapping")
    for i, item in enumerate(f.items(raw, "", "claims", *is_claim)):
        rid = item.get("id")
        w = f"claims[{rid}]" if is_text(rid) else join("claims", i)
        c = f.block(item, w, CLAIM_KEYS, ("id", "text", "where"))
        claim_id = f.get(c, w, "id", is_text, "text")
        if any(other.id == claim_id for other in claims):
            raise f.error(f"claim id '{claim_id}' appears twice")
        forms = [k for k in FORMS if k in c]
        status = f.get(c, w, "status", lambda v: v in SPEC_CODES, _codes())
        reason = f.get(c, w, "reason", is_text, "text")
        if bool(status) != bool(reason):
            raise f.error(f"key '{w}': 'status' and 'reason' (why it cannot be tested) go together")
        if len(forms) != (0 if status else 1):
            what = "no form" if status else "one form"
            raise f.error(
                f"key '{w}': give {what} of {', '.join(FORMS)} "
                f"({'a claim with a status is not tested' if status else 'or status and reason'})"
                f", got {forms or 'none'}"
            )
        text = {k: f.get(c, w, k, is_text, "text") for k in ("text", "where", "contradicted")}
        if status:
            extra = [k for k in ("columns", "rows", "range", "tolerance", "at_least") if k in c]
            if extra:
                raise f.error(f"key '{join(w, extra[0])}': a claim with a status tests nothing")
            claims.append(
                Claim(
                    claim_id,
                    text["text"],
                    text["where"],
                    None,
                    status=NotRunCode(status),
                    reason=reason,
                    contradicted=text["contradicted"],
                )
            )
            continue
        form = forms[0]
        comparisons = _comparisons(f, c, w, form, rows, columns)
        at_least = f.get(c, w, "at_least", is_count, "a whole number > 0")
        if at_least is not None and at_least > len(comparisons):
            raise f.error(
                f"key '{join(w, 'at_least')}': {at_least} of {len(comparisons)} comparisons "
                "cannot hold"
            )
        tolerance = f.get(c, w, "tolerance", lambda v: _is_real(v) and v >= 0, "a number >= 0")
        claims.append(
            Claim(
                claim_id,
                text["text"],
                text["where"],
                form,
                comparisons,
                _range(f, c, w, form),
                float(tolerance or 0.0),
                at_least,
                f.get(
                    c, w, "printed_others", lambda v: isinstance(v, bool), "true or false", False
                ),
                text["contradicted"],
            )
        )
    return tuple(claims)


def _codes() -> str:
    return "one of " + ", ".join(map(str, SPEC_CODES))
