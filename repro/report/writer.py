"""Write reports/<id>.md with its plots, and reports/index.md over every table."""

from __future__ import annotations

import json

from repro.files import atomic_write_text
from repro.paths import reports_dir, results_dir
from repro.report.markdown import index_markdown, table_markdown
from repro.report.plots import delta_heatmap, quality_vs_cost
from repro.tables.compare import Cell, status_counts
from repro.tables.spec import load_spec, table_ids


def write_table_report(result) -> str:
    folder = reports_dir()
    plots = [
        p
        for p in (
            delta_heatmap(result.spec, result.cells, folder),
            quality_vs_cost(result.spec, result.cells, folder),
        )
        if p
    ]
    path = folder / f"{result.spec.id}.md"
    text = table_markdown(result.spec, result.cells, result.provenance, plots, result.claims)
    atomic_write_text(path, text)
    return str(path)


def write_index() -> str:
    """Index of every table: status counts from results/<id>.cells.json where a run exists."""
    entries = []
    for table_id in table_ids():
        spec = load_spec(table_id)
        counts: dict[str, int] = {}
        cells_path = results_dir() / f"{table_id}.cells.json"
        if cells_path.is_file():
            saved = json.loads(cells_path.read_text(encoding="utf-8"))
            if saved.get("protocol_version") == spec.version:  # never mix protocol versions
                counts = status_counts([Cell(**c) for c in saved["cells"]])
        entries.append(
            {
                "id": table_id,
                "title": spec.title,
                "version": spec.version,
                "counts": counts,
                "has_report": (reports_dir() / f"{table_id}.md").is_file(),
            }
        )
    path = reports_dir() / "index.md"
    atomic_write_text(path, index_markdown(entries))
    return str(path)
