"""What a compared table adds up to: counts, failures, what is missing to run the rest; and the
short markdown a CI job shows (GitHub's ``$GITHUB_STEP_SUMMARY``).

Counting: a cell is *reproducible* when it has a paper number this suite can measure given the
inputs (every judged or partial cell, and NOT-RUN cells for want of weights, data, a GPU, a
``--datasets`` choice, or a model output that was not finite); another method's row, a
training-only or not-implemented cell and a cell with no paper number to compare are not. A
reproducible cell is *reproduced* when it is PASS (within the spec's tolerance of the paper).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from repro.data.cards import get_card
from repro.errors import NotRunCode, ReproError, WeightsError
from repro.eval.predictor import find_weights_entry
from repro.models import registry
from repro.report.coverage import coverage, is_cost, is_measured
from repro.report.markdown import fmt, fmt_delta
from repro.tables.claim_verdicts import ClaimResult, ClaimStatus
from repro.tables.compare import Cell, CellStatus, status_label
from repro.tables.papers import citation
from repro.tables.spec import TableSpec
from repro.weights import WeightsEntry, fetch_advice

# Exit status of a run that completed but holds cells of a --fail-on status; 2 stays the code
# of errors and usage errors, 130 of an interrupt.
FAIL_ON_EXIT = 3

# NOT-RUN codes no checkpoint, dataset or device would let this suite measure (a StrEnum:
# their text, as a Need's kind, is found in it too)
UNRUNNABLE = frozenset({NotRunCode.TRAINING_ONLY, NotRunCode.NOT_IMPLEMENTED})
_JUDGED = (
    CellStatus.PASS,
    CellStatus.FAIL,
    CellStatus.IMPROVED,
    CellStatus.UNSTABLE,
    CellStatus.PARTIAL,
)


@dataclass(frozen=True)
class Tally:
    total: int
    reproducible: int
    reproduced: int  # PASS
    by_status: dict[str, int]  # status -> cells, in CellStatus order
    not_run: dict[str, int]  # NOT-RUN code -> cells


def is_reproducible(cell: Cell) -> bool:
    if cell.status == CellStatus.NOT_RUN:
        return cell.reported is not None and cell.code not in UNRUNNABLE
    return cell.status in _JUDGED


def tally(cells: list[Cell]) -> Tally:
    by_status = {str(s): n for s in CellStatus if (n := sum(c.status == s for c in cells))}
    not_run = {
        str(code): n
        for code in NotRunCode
        if (n := sum(c.status == CellStatus.NOT_RUN and c.code == code for c in cells))
    }
    return Tally(
        total=len(cells),
        reproducible=sum(is_reproducible(c) for c in cells),
        reproduced=by_status.get(CellStatus.PASS, 0),
        by_status=by_status,
        not_run=not_run,
    )


def counts_line(t: Tally) -> str:
    """``PASS 60 · NOT-RUN 48 (MISSING-DATA 16, MISSING-WEIGHTS 32)``."""
    parts = []
    for status, n in t.by_status.items():
        part = f"{status} {n}"
        if status == CellStatus.NOT_RUN:
            part += " (" + ", ".join(f"{code} {k}" for code, k in t.not_run.items()) + ")"
        parts.append(part)
    return " · ".join(parts)


def headline(t: Tally) -> str:
    """``60 of 108 reproducible cells reproduced (108 cells in all)``."""
    return (
        f"{t.reproduced} of {t.reproducible} reproducible cells reproduced ({t.total} cells in all)"
    )


def claims_line(claims: Iterable[ClaimResult]) -> str:
    """``HOLDS 3 · FAILS 1 · NOT-RUN 2``, in ClaimStatus order."""
    statuses = [str(c.status) for c in claims]
    return " · ".join(f"{s} {statuses.count(s)}" for s in map(str, ClaimStatus) if s in statuses)


def column_name(cell: Cell) -> str:
    """``F2K psnr`` or ``params``; a stereo protocol or latency block in parentheses."""
    name = f"{cell.dataset} {cell.metric}" if cell.dataset else cell.metric
    return name + (f" ({cell.variant})" if cell.variant else "")


# ----------------------------------------------------------------------- what is missing
@dataclass(frozen=True)
class Need:
    """One thing to get (a checkpoint, a dataset) or one reason cells were not run."""

    kind: str  # "weights", "data", or a NOT-RUN code for the other reasons
    name: str  # weights id, dataset name, or the reason as recorded
    advice: str  # how to get it ("" for reasons)
    labels: tuple[str, ...]  # rows it holds back, in the spec's order
    cells: int
    fix: str = ""  # the one thing to do, short: a command (``repro pull ID``) or a phrase


# what to do about the NOT-RUN codes that are not a checkpoint or a dataset to get
_CODE_FIX = {
    NotRunCode.NEEDS_GPU: "run on a machine with a GPU (--device cuda)",
    NotRunCode.NOT_SELECTED: "run without --datasets",
    NotRunCode.NON_FINITE_OUTPUT: "check the checkpoint and the settings",
    NotRunCode.MISSING_EXTRA: "install the extra the reason names (README, 'Optional')",
}


def data_fix(name: str) -> str:
    """The one way to get a dataset: ``repro fetch NAME`` where one command can, else where."""
    card = get_card(name)
    pinned = card.hub is not None and card.hub.revision is not None
    if pinned or (card.archive is not None and card.archive.manual is None):
        return f"repro fetch {name}"
    return f"get {name} from {card.source_hint()}, then pass --data-root DIR"


def _row_entry(spec: TableSpec, row_id: str) -> WeightsEntry | None:
    """The checkpoint a row loads (the spec's weights id, else the model's default)."""
    row = next(r for r in spec.rows if r.id == row_id)
    if row.model is None:
        return None
    try:
        return find_weights_entry(registry.get(row.model), row.scale, row.weights)
    except WeightsError:
        return None


def missing(spec: TableSpec, cells: list[Cell]) -> list[Need]:
    """What holds back each NOT-RUN cell: checkpoints (with their ``repro pull`` advice),
    datasets (with where their cards say to get them), then every other reason as recorded.

    A MISSING-WEIGHTS cell counts for its row's checkpoint when its reason names it; other
    files (a metric's weights) keep their recorded reason.
    """
    groups: dict[tuple[str, str], tuple[str, str, list[str], list[int]]] = {}

    def add(kind: str, name: str, advice: str, label: str, fix: str = "") -> None:
        _, _, labels, count = groups.setdefault((kind, name), (advice, fix, [], [0]))
        if label not in labels:
            labels.append(label)
        count[0] += 1

    for c in cells:
        if c.status != CellStatus.NOT_RUN:
            continue
        entry = _row_entry(spec, c.row) if c.code == NotRunCode.MISSING_WEIGHTS else None
        if entry is not None and f"'{entry.id}'" in (c.reason or ""):
            add("weights", entry.id, fetch_advice(entry), c.label, f"repro pull {entry.id}")
        elif c.code == NotRunCode.MISSING_DATA and c.dataset:
            source = get_card(c.dataset).source_hint()
            add("data", c.dataset, source, c.label, data_fix(c.dataset))
        else:
            add(str(c.code), c.reason or "", "", c.label, _CODE_FIX.get(c.code, ""))
    order = {"weights": 0, "data": 1}
    needs = [
        Need(kind, name, advice, tuple(labels), count[0], fix)
        for (kind, name), (advice, fix, labels, count) in groups.items()
    ]
    return sorted(needs, key=lambda n: order.get(n.kind, 2))  # stable: first seen first


def _quote(label: str) -> str:
    return f"“{label}”"


def get_them_all(table: str) -> str:
    """The one command that gets every checkpoint and dataset a table needs."""
    return (
        f"Get them all with one command: `repro get {table} --yes` (`repro get {table}` first "
        "shows the plan: each source, its size where known, and how it is checked)."
    )


def missing_line(needs: list[Need], table: str | None = None) -> str:
    """One line: the checkpoints and datasets to get (and how many cells wait for other
    reasons), with the one command that gets them when ``table`` is given; '' when nothing is
    missing."""
    weights = [n.name for n in needs if n.kind == "weights"]
    data = [n.name for n in needs if n.kind == "data"]
    other = sum(n.cells for n in needs if n.kind not in ("weights", "data"))
    parts = []
    if weights:
        names = ", ".join(f"`{w}`" for w in weights)
        parts.append(f"weights {names} (`repro pull <id>`)")
    if data:
        parts.append(f"data {', '.join(data)} (`--data-root DIR` or `REPRO_DATA`)")
    if table and (weights or data):
        parts.append(f"all of them: `repro get {table} --yes`")
    if other:
        codes = sorted({n.kind for n in needs if n.kind not in ("weights", "data")})
        parts.append(f"{other} cell(s) not run for other reasons ({', '.join(codes)})")
    return "; ".join(parts)


def no_quality_text(spec: TableSpec, cells: list[Cell], *, markdown: bool = False) -> str:
    """What a run that measured no quality cell says plainly: which cells were not measured
    and why, what was compared instead, and what would let them be measured."""
    quality = [c for c in cells if c.status != CellStatus.REPORTED_ONLY and not is_cost(c)]
    codes: dict[str, int] = {}
    for c in quality:
        key = str(c.code or c.status)
        codes[key] = codes.get(key, 0) + 1
    metrics = ", ".join(dict.fromkeys(c.metric for c in quality))
    cost = ", ".join(dict.fromkeys(c.metric for c in cells if is_cost(c) and is_measured(c)))
    text = (
        f"No quality number was reproduced: none of the {len(quality)} quality cells "
        f"({metrics}) was measured ({', '.join(f'{k} {n}' for k, n in codes.items())})"
    )
    if cost:
        text += f"; only cost cells ({cost}) were compared"
    needs = missing(spec, quality)
    pulls = [n.name for n in needs if n.kind == "weights"]  # one pull takes every checkpoint
    fixes = [f"repro pull {' '.join(pulls)}"] * bool(pulls)
    fixes += [n.fix for n in needs if n.fix and n.kind != "weights"]
    if not fixes:
        return text + ". Nothing this suite can fetch would let them be measured here."
    shown = [f"`{f}`" if markdown and f.startswith("repro ") else f for f in fixes]
    return text + ". To measure them: " + "; ".join(shown) + "."


def measured_lines(spec: TableSpec, cells: list[Cell], *, markdown: bool = False) -> list[str]:
    """The lines every summary opens with, each followed by an empty line: quality and cost
    cells measured, then, when no quality cell was, the plain statement of it."""
    line = coverage(cells).line()
    lines = [f"**{line}**" if markdown else line, ""]
    if coverage(cells).no_quality:
        text = no_quality_text(spec, cells, markdown=markdown)
        lines += [f"**{text}**" if markdown else text, ""]
    return lines


# ----------------------------------------------------------------------- --fail-on
STALE = "STALE"  # repro report: saved results produced by other code than this one
NO_QUALITY = "NO-QUALITY"  # the table has quality cells and none was measured
# a claim status is named with its prefix (PARTIAL and NOT-RUN are cell statuses too)
CLAIM_PREFIX = "claim:"
FAIL_ON_CHOICES = (
    *(str(s) for s in CellStatus),
    *(str(c) for c in NotRunCode),
    *(f"{CLAIM_PREFIX}{s}" for s in ClaimStatus),
    NO_QUALITY,
    STALE,
)


def parse_fail_on(text: str | None) -> frozenset[str]:
    """``FAIL,NOT-RUN`` -> the statuses (or NOT-RUN codes, NO-QUALITY, STALE) that make a run
    exit non-zero; None (no --fail-on) -> none, and an empty list is an error."""
    if text is None:
        return frozenset()
    wanted = [_choice(w) for w in text.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in FAIL_ON_CHOICES]
    if unknown or not wanted:
        raise ReproError(
            f"--fail-on {text!r}: unknown {', '.join(unknown) or 'empty list'}; give a comma "
            f"list of {', '.join(FAIL_ON_CHOICES)} (a NOT-RUN code means NOT-RUN cells of it; "
            f"{CLAIM_PREFIX}STATUS means claims of that status; {NO_QUALITY}: a table with "
            "quality cells measured none of them)"
        )
    return frozenset(wanted)


def _choice(word: str) -> str:
    """A --fail-on word as the choices spell it: upper case, the claim: prefix lower case."""
    word = word.strip()
    if word.lower().startswith(CLAIM_PREFIX):
        return CLAIM_PREFIX + word[len(CLAIM_PREFIX) :].upper()
    return word.upper()


def failing(
    cells: Iterable[Cell], fail_on: frozenset[str], claims: Iterable[ClaimResult] = ()
) -> list[Cell | ClaimResult]:
    """The cells whose status, or NOT-RUN code, is in ``fail_on``; then the claims whose
    status is (as ``claim:STATUS``)."""
    hits: list[Cell | ClaimResult] = [
        c for c in cells if str(c.status) in fail_on or (c.code and str(c.code) in fail_on)
    ]
    return hits + [c for c in claims if f"{CLAIM_PREFIX}{c.status}" in fail_on]


def no_quality_failure(spec: TableSpec, cells: list[Cell], fail_on: frozenset[str]) -> str:
    """``--fail-on NO-QUALITY``: why this run fails (a table with quality cells measured none
    of them), or ''."""
    cov = coverage(cells)
    if NO_QUALITY not in fail_on or not cov.no_quality:
        return ""
    return f"{spec.id}: {NO_QUALITY}: {cov.line()}"


def fail_on_message(
    spec: TableSpec, hits: list[Cell | ClaimResult], fail_on: frozenset[str]
) -> str:
    counts: dict[str, int] = {}
    for c in hits:
        kind = "claim " if isinstance(c, ClaimResult) else ""
        key = kind + (f"{c.status} ({c.code})" if c.code else str(c.status))
        counts[key] = counts.get(key, 0) + 1
    shown = ", ".join(f"{n} {k}" for k, n in counts.items())
    what = "cell(s) or claim(s)" if any(isinstance(c, ClaimResult) for c in hits) else "cell(s)"
    return f"{spec.id}: {len(hits)} {what} match --fail-on {','.join(sorted(fail_on))}: {shown}"


# ----------------------------------------------------------------------- CI summary
def shown_path(path: str | os.PathLike) -> str:
    """A path as a CI log shows it: relative to the working folder when inside it."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def summary_markdown(
    spec: TableSpec,
    cells: list[Cell],
    claims: list | None = None,
    *,
    partial: bool = False,
    report: str | None = None,
) -> str:
    """The short markdown of one table for a CI job's summary page: what was measured (quality
    apart from cost) first, then the verdicts. ✅ only when quality cells were measured (or the
    table has none) and none fails."""
    t = tally(cells)
    fails = [c for c in cells if c.status == CellStatus.FAIL]
    mark = "❌" if fails else "⚠" if coverage(cells).no_quality else "✅"
    lines = [
        f"### {mark} `{spec.id}`: {spec.title}"
        + ("  [PARTIAL RUN: not for reporting]" if partial else ""),
        "",
        citation(spec),
        "",
        *measured_lines(spec, cells, markdown=True),
    ]
    if claims:  # the conclusions first, after what was measured
        lines += [f"**Claims:** {claims_line(claims)}", ""]
        for c in claims:
            paper = f"; on the paper's own numbers {c.paper}" if c.paper else ""
            paper += " (contradicted)" if c.contradicted else ""
            lines.append(f"- {status_label(c.status, c.code)} `{c.id}`: {c.test}{paper}")
        lines.append("")
    lines.append(f"**{headline(t)}** · {counts_line(t)}")
    if fails:
        lines += [
            "",
            "| FAIL | column | reported | reproduced | Δ | tolerance |",
            "|---|---|---|---|---|---|",
        ]
        for c in fails:
            tol = f"±{fmt(c.tolerance, c.metric)}" if c.tolerance is not None else "–"
            lines.append(
                f"| {c.label.replace('|', '/')} | {column_name(c)} | {fmt(c.reported, c.metric)}"
                f" | {fmt(c.reproduced, c.metric)} | {fmt_delta(c.delta, c.metric)} | {tol} |"
            )
    # the cells the no-quality statement above already told how to measure are not told again
    told = coverage(cells).no_quality
    todo = missing_line(missing(spec, [c for c in cells if not (told and not is_cost(c))]), spec.id)
    if todo:
        lines += ["", f"Missing here: {todo}."]
    if report:
        lines += ["", f"Report: `{report}`"]
    return "\n".join(lines) + "\n"


def error_summary(table: str, message: str) -> str:
    """The summary of a run that stopped with an error (nothing was published)."""
    return f"### ⚠ `{table}`: not run\n\nerror: {' '.join(message.split())}\n"


def write_summary(path: str | os.PathLike, text: str) -> None:
    """Append to ``path`` (GitHub's ``$GITHUB_STEP_SUMMARY`` convention: every step adds its
    part), creating it when absent; a second table's summary follows the first."""
    target = Path(path)
    with target.open("a", encoding="utf-8") as f:
        if target.stat().st_size:
            f.write("\n")
        f.write(text)
