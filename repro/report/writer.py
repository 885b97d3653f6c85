"""Render reports/<id>.md with its plots, and reports/index.md over every table, in a
workspace (:mod:`repro.workspace`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from repro.errors import UnknownNameError
from repro.files import atomic_write_text
from repro.publish import (
    Destination,
    NoSavedResultsError,
    SavedResultsError,
    load_saved,
    publish,
)
from repro.report.coverage import coverage
from repro.report.export import write_exports
from repro.report.markdown import index_markdown
from repro.report.page import table_markdown
from repro.report.plots import delta_heatmap, quality_vs_cost
from repro.tables.claim_verdicts import claim_counts
from repro.tables.compare import Cell, status_counts
from repro.tables.run import made_by_other_code
from repro.tables.saved import result_files
from repro.tables.spec import load_spec, table_ids
from repro.workspace import Workspace


def render_table_report(result, folder: Path, *, extra_sections: Sequence[str] = ()) -> list[Path]:
    """Write ``<id>.md`` and its plots into ``folder``; return every file written.

    ``extra_sections``: markdown sections added to the report's summary (see
    :func:`repro.report.page.table_markdown`)."""
    plots = [
        Path(p)
        for p in (
            delta_heatmap(result.spec, result.cells, folder),
            quality_vs_cost(result.spec, result.cells, folder),
        )
        if p
    ]
    path = folder / f"{result.spec.id}.md"
    text = table_markdown(
        result.spec,
        result.cells,
        result.provenance,
        [str(p) for p in plots],
        result.claims,
        partial=result.partial,
        extra_sections=extra_sections,
    )
    atomic_write_text(path, text)
    return [path, *plots, *write_exports(result.spec, result.cells, folder)]


def publish_result(
    result, *, keep_frame: bool = False, extra_sections: Sequence[str] = ()
) -> dict[str, str]:
    """Publish a run's result set (results, report, plots) as one into its workspace; the
    index on full runs.

    ``keep_frame``: a re-comparison has no per-image rows; the saved CSV is published again.
    ``extra_sections``: markdown sections for the report's summary.
    Returns manifest key (``results:<file>``, ``reports:<file>``) -> path.
    """
    dest = result.destination
    files = result_files(result)
    if keep_frame:
        files[".csv"] = dest.file(".csv").read_text(encoding="utf-8")
    code = result.provenance.get("code")  # the code that made the numbers (a rerun: saved)
    meta = {
        "table": result.spec.id,
        "protocol_version": result.spec.version,
        "code_sha256": code.get("sha256") if isinstance(code, dict) else None,
    }

    def render(folder: Path) -> list[Path]:
        return render_table_report(result, folder, extra_sections=extra_sections)

    paths = publish(dest, files, render, meta)
    if not result.partial:
        write_index(result.workspace)
    return paths


def write_index(ws: Workspace) -> str:
    """Index of every table's complete run in ``ws``; a missing or broken result set is said,
    not fatal."""
    entries = []
    for table_id in table_ids():
        spec = load_spec(table_id)
        counts: dict[str, int] = {}
        claims: dict[str, int] = {}
        measured, note = "", ""
        try:
            saved = load_saved(Destination(table_id, workspace=ws))
            cells = saved["cells"]
            if cells.get("protocol_version") != spec.version:  # never mix protocol versions
                note = f"saved results are protocol v{cells.get('protocol_version')}: rerun"
            else:
                compared = [Cell.from_dict(c) for c in cells["cells"]]
                counts, measured = status_counts(compared), coverage(compared).line()
                claims = claim_counts(cells.get("claims") or [])
                if made_by_other_code(saved, spec):
                    note = "produced by other code than this checkout's: rerun to refresh"
        except NoSavedResultsError:
            note = f"no complete run here (repro validate {table_id} says what is missing)"
        except SavedResultsError as exc:
            note = exc.problem
        except (TypeError, KeyError, ValueError, UnknownNameError) as exc:  # a hand-edited set
            note = f"saved cells do not parse ({exc}): rerun"
        entries.append(
            {
                "id": table_id,
                "title": spec.title,
                "version": spec.version,
                "measured": measured,
                "counts": counts,
                "claims": claims,
                "note": note,
                "has_report": bool(counts) and (ws.reports / f"{table_id}.md").is_file(),
            }
        )
    ws.reports.mkdir(parents=True, exist_ok=True)
    path = ws.reports / "index.md"
    atomic_write_text(path, index_markdown(entries))
    return str(path)
