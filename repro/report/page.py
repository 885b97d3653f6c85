"""The report of one compared table, in the order a researcher reads it.

1. the citation (paper, table), what was measured (quality cells apart from cost cells), then
   the paper's claims with their verdicts on the paper's own numbers and here
   (:mod:`repro.report.conclusions`): the conclusions come first;
2. the table in the paper's layout (:mod:`repro.report.layout`), and where its numbers come
   from when not from the cited table (a repository's docs, a third-party list...);
3. the summary: cells reproduced / reproducible / total, the failing cells, any extra sections
   the caller passes (``extra_sections``: e.g. a gap explainer's findings), and what is missing
   to run the rest (checkpoints with their ``repro pull`` command, datasets with where to get
   them, every other reason);
4. plots, protocol, provenance, and appendices with every cell and every claim comparison.

The spec's transcription notes (``source.note``, ``notes``) are for its maintainers and are not
printed; the report cites the paper instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from repro.report.conclusions import comparisons_section, conclusions_section
from repro.report.coverage import coverage
from repro.report.export import export_names
from repro.report.layout import layout_table, legend
from repro.report.markdown import (
    cells_table,
    fmt,
    fmt_delta,
    other_methods_section,
    reasons_section,
)
from repro.report.summary import (
    UNRUNNABLE,
    Need,
    column_name,
    counts_line,
    get_them_all,
    headline,
    measured_lines,
    missing,
    tally,
)
from repro.tables.compare import Cell, CellStatus
from repro.tables.papers import citation
from repro.tables.spec import TableSpec


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def failures_section(cells: list[Cell]) -> str:
    """The FAIL cells: reported, reproduced, Δ, tolerance, and the recorded reason if any."""
    fails = [c for c in cells if c.status == CellStatus.FAIL]
    if not fails:
        return ""
    why = any(c.reason for c in fails)
    head = "| row | column | reported | reproduced | Δ | tolerance |" + (" why |" if why else "")
    out = ["### Cells that fail", "", head, "|---" * (7 if why else 6) + "|"]
    for c in fails:
        tol = f"±{fmt(c.tolerance, c.metric)}" if c.tolerance is not None else "–"
        line = (
            f"| {_md(c.label)} | {column_name(c)} | {fmt(c.reported, c.metric)} | "
            f"{fmt(c.reproduced, c.metric)} | {fmt_delta(c.delta, c.metric)} | {tol} |"
        )
        out.append(line + (f" {_md(c.reason or '–')} |" if why else ""))
    return "\n".join(out)


def sources_section(spec: TableSpec) -> str:
    """Where the numbers come from when not from the cited table: each source, what it covers."""
    covers: dict[str, list[str]] = {}
    for col in spec.columns:
        for src in col.source:
            covers.setdefault(src.text, []).append(f"column {col.key}")
    for row in spec.rows:
        for src in row.source:
            where = f"row {row.label}" + (f" ({', '.join(src.columns)})" if src.columns else "")
            covers.setdefault(src.text, []).append(where)
    if not covers:
        return ""
    out = ["**Numbers from other sources than the cited table:**", ""]
    for text, where in covers.items():
        out.append(f"- {_md(text)}: {_md('; '.join(where))}")
    return "\n".join(out)


def _need_bullet(need: Need) -> list[str]:
    cells = f"{need.cells} cell{'s' if need.cells != 1 else ''}"
    if need.kind == "weights":
        advice = need.advice.replace(f"repro pull {need.name}", f"`repro pull {need.name}`")
        head = f"- weights `{need.name}` ({cells}): {advice}"
    elif need.kind == "data":  # the table shows which rows: every row run on the set
        return [f"- data **{need.name}** ({cells}): get it from {need.advice}"]
    else:
        head = f"- {need.kind} ({cells}): {need.name}"
    return [head, *(f"  - {label}" for label in need.labels)]


def missing_section(spec: TableSpec, cells: list[Cell]) -> str:
    """What is missing to run the cells not run, each with the rows it holds back; then the
    cells no input would let this suite run (training-only, not implemented)."""
    needs = missing(spec, cells)
    todo = [n for n in needs if n.kind not in UNRUNNABLE]
    out = []
    if todo:
        out += ["### To run the rest", ""]
        for need in todo:
            out += _need_bullet(need)
        if any(n.kind in ("weights", "data") for n in todo):
            out += ["", get_them_all(spec.id)]
    if any(n.kind == "data" for n in todo):
        out += [
            "",
            "Put the datasets in a folder and pass `--data-root DIR` (or set `REPRO_DATA`); "
            f"`repro validate {spec.id}` says what is found.",
        ]
    beyond = [n for n in needs if n.kind in UNRUNNABLE]
    if beyond:
        out += ["", "### Not run by this suite", ""]
        for need in beyond:
            out += _need_bullet(need)
    return "\n".join(out).strip("\n")


def summary_section(spec: TableSpec, cells: list[Cell]) -> str:
    """What was measured, quality apart from cost (a table that measured no quality cell says
    so plainly, with what would let it be), then the verdict counts."""
    t = tally(cells)
    return "\n".join(
        [
            "## Summary",
            "",
            *measured_lines(spec, cells, markdown=True),
            f"**{headline(t)}** · {counts_line(t)}",
            "",
            "Quality cells: every metric that is not a cost; cost cells: params, FLOPs, latency, "
            "memory, measured on the model alone. Reproducible: cells with a paper number this "
            "suite measures, given the checkpoint, the data and the device; reproduced: those "
            "within the paper's tolerance (PASS).",
        ]
    )


def table_markdown(
    spec: TableSpec,
    cells: list[Cell],
    provenance: dict,
    plots: list[str],
    claims: list | None = None,
    *,
    partial: bool = False,
    extra_sections: Sequence[str] = (),
) -> str:
    """The whole report. ``extra_sections``: markdown sections (each with its own ``###``
    heading) placed after the failing cells, e.g. why a cell differs from the paper."""
    banner = (
        [
            "> **Partial run: not for reporting.** It scored a subset of the table (--limit "
            f"{provenance.get('limit')}, datasets {provenance.get('datasets')}); its cells are "
            f"PARTIAL or NOT-SELECTED. The complete run is `reports/{spec.id}.md`.",
            "",
        ]
        if partial
        else []
    )
    parts = [
        f"# {spec.id}: {spec.title}",
        "",
        f"**Paper:** {citation(spec).rstrip('.')}.",
        "",
        *banner,
        f"**{coverage(cells).line()}**",  # what was measured, before any verdict
        "",
        conclusions_section(claims or []),
        "",
        "## The table, reproduced",
        "",
        "Each cell: the paper's number → the number reproduced here.",
        "",
        layout_table(spec, cells),
        "",
        legend(cells, spec),
        "",
        sources_section(spec),
        "",
        summary_section(spec, cells),
        "",
        failures_section(cells),
        "",
        *(s for section in extra_sections for s in (section.strip(), "")),
        missing_section(spec, cells),
        "",
        other_methods_section(cells),
        "",
    ]
    if plots:
        parts += ["## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots] + [""]
    tex, sheet = export_names(spec.id)
    parts += [f"The table for a paper: [{tex}]({tex}) (LaTeX), [{sheet}]({sheet}) (CSV).", ""]
    parts += [
        f"## Protocol (version {spec.version})",
        "",
        "```json",
        json.dumps(spec.protocol, indent=1),
        "```",
        "",
        "Tolerances: " + ", ".join(f"{k} {v}" for k, v in spec.tolerance.items()),
        "",
        "## Provenance",
        "",
        "```json",
        json.dumps(_short_provenance(provenance), indent=1, default=str),
        "```",
        "",
        "## Appendix: every cell",
        "",
        cells_table(cells),
        "",
        reasons_section(cells),
        "",
        comparisons_section(claims or []),
    ]
    text = "\n".join(parts)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip("\n") + "\n"


def _short_provenance(prov: dict) -> dict:
    keep = {k: v for k, v in prov.items() if k not in ("jobs", "code")}
    if isinstance(prov.get("code"), dict):  # its modules stay in results/<id>.provenance.json
        keep["code_sha256"] = prov["code"].get("sha256")
    keep["jobs"] = [
        {
            "row": j["row"],
            "dataset": j["data"]["dataset"],
            "images": j["data"]["images"],
            "lr_source": j["data"]["lr_source"],
            "data_sha256": j["data"]["sha256"][:16],
            "weights_sha256": ((j["model"].get("weights") or {}).get("sha256") or "–")[:16],
            "weights_verified": (j["model"].get("weights") or {}).get("verified", "–"),
            "images_from_cache": j.get("images_from_cache", 0),
        }
        for j in prov.get("jobs", [])
    ]
    return keep
