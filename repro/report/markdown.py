"""Markdown for one compared table and for the index of all tables."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

from repro.metrics import get_metric
from repro.tables.compare import Cell, CellStatus, status_counts, status_label
from repro.tables.spec import TableSpec


def fmt(value, metric: str) -> str:
    """A value with its metric's decimals; thousands separated from 1,000 on."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    decimals = get_metric(metric).decimals
    if abs(value) >= 1000:
        decimals = min(decimals, 1)
    return f"{value:,.{decimals}f}"


def fmt_delta(value, metric: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:+.{get_metric(metric).decimals}f}"


STATUS_MARK = {"PASS": "✅ PASS", "FAIL": "❌ FAIL", "IMPROVED": "⬆ IMPROVED"}


def cells_table(cells: list[Cell]) -> str:
    lines = [
        "| row | dataset | scale | metric | reported | reproduced | Δ | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        metric = c.metric + (f" ({c.variant})" if c.variant else "")
        status = STATUS_MARK.get(c.status, status_label(c.status, c.code, _images(c)))
        lines.append(
            f"| {c.label} | {c.dataset or '–'} | x{c.scale} | {metric} | "
            f"{fmt(c.reported, c.metric)} | {fmt(c.reproduced, c.metric)} | "
            f"{fmt_delta(c.delta, c.metric)} | {status} |"
        )
    return "\n".join(lines)


def _images(c: Cell) -> tuple:
    return (c.images, c.images_total)


def reasons_section(cells: list[Cell]) -> str:
    seen: dict[str, list[str]] = {}
    for c in cells:
        if c.status == CellStatus.NOT_RUN:
            seen.setdefault(c.why, []).append(c.label)
    if not seen:
        return ""
    out = ["## Why cells were not run", ""]
    for reason, labels in seen.items():
        rows = ", ".join(dict.fromkeys(labels))
        out.append(f"- **{rows}**: {reason}")
    return "\n".join(out)


def claims_section(claims: list) -> str:
    """The paper's qualitative claims, checked on the reproduced values."""
    if not claims:
        return ""
    out = [
        "## Claims",
        "",
        "| claim | better row | than row | column | margin | status |",
        "|---|---|---|---|---|---|",
    ]
    for c in claims:
        margin = f"{c.margin:+.4f}" if c.margin is not None else "–"
        status = status_label(c.status, c.code)
        out.append(f"| {c.text} | {c.better} | {c.than} | {c.column} | {margin} | {status} |")
    return "\n".join(out)


def table_markdown(
    spec: TableSpec,
    cells: list[Cell],
    provenance: dict,
    plots: list[str],
    claims: list | None = None,
    *,
    partial: bool = False,
) -> str:
    src = asdict(spec.source)
    source = ", ".join(f"{k}: {v}" for k, v in src.items() if v and k != "note")
    counts = status_counts(cells)
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
        *banner,
        f"Source: {source}." + (f" {src['note']}" if src.get("note") else ""),
        "",
        "Status: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
        "",
        "## Compared cells",
        "",
        cells_table(cells),
        "",
        claims_section(claims or []),
        "",
        reasons_section(cells),
        "",
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
    ]
    if plots:
        parts += ["", "## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    return "\n".join(parts).replace("\n\n\n", "\n\n") + "\n"


def _short_provenance(prov: dict) -> dict:
    keep = {k: v for k, v in prov.items() if k != "jobs"}
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


def index_markdown(entries: list[dict]) -> str:
    lines = [
        "# repro: all tables",
        "",
        "| table | title | protocol | status counts | report |",
        "|---|---|---|---|---|",
    ]
    for e in entries:
        counts = ", ".join(f"{k} {v}" for k, v in e["counts"].items())
        if counts and e.get("note"):
            counts += f" ({e['note']})"
        counts = counts or e.get("note") or "not run yet"
        report = f"[{e['id']}.md]({e['id']}.md)" if e.get("has_report") else "–"
        lines.append(f"| `{e['id']}` | {e['title']} | v{e['version']} | {counts} | {report} |")
    return "\n".join(lines) + "\n"
