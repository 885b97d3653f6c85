"""Render reports/<id>.md with its plots, and reports/index.md over every table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from repro.files import atomic_write_text
from repro.paths import reports_dir
from repro.provenance import code_sha256
from repro.publish import (
    Destination,
    NoSavedResultsError,
    SavedResultsError,
    load_saved,
    publish,
)
from repro.report.markdown import index_markdown
from repro.report.page import table_markdown
from repro.report.plots import delta_heatmap, quality_vs_cost
from repro.tables.claim_verdicts import claim_counts
from repro.tables.compare import Cell, status_counts
from repro.tables.spec import load_spec, table_ids


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
    return [path, *plots]


def publish_result(
    result, *, keep_frame: bool = False, extra_sections: Sequence[str] = ()
) -> dict[str, str]:
    """Publish a run's result set (results, report, plots) as one; the index on full runs.

    ``keep_frame``: a re-comparison has no per-image rows; the saved CSV is published again.
    ``extra_sections``: markdown sections for the report's summary.
    Returns manifest key (``results:<file>``, ``reports:<file>``) -> path.
    """
    from repro.tables.run import result_files

    dest = Destination(result.spec.id, result.partial)
    files = result_files(result)
    if keep_frame:
        files[".csv"] = dest.file(".csv").read_text(encoding="utf-8")
    meta = {
        "table": result.spec.id,
        "protocol_version": result.spec.version,
        "code_sha256": result.provenance.get("code_sha256"),
    }

    def render(folder: Path) -> list[Path]:
        return render_table_report(result, folder, extra_sections=extra_sections)

    paths = publish(dest, files, render, meta)
    if not result.partial:
        write_index()
    return paths


def write_index() -> str:
    """Index of every table's complete run; a missing or broken result set is said, not fatal."""
    entries = []
    for table_id in table_ids():
        spec = load_spec(table_id)
        counts: dict[str, int] = {}
        claims: dict[str, int] = {}
        note = ""
        try:
            saved = load_saved(Destination(table_id))
            cells = saved["cells"]
            if cells.get("protocol_version") != spec.version:  # never mix protocol versions
                note = f"saved results are protocol v{cells.get('protocol_version')}: rerun"
            else:
                counts = status_counts([Cell.from_dict(c) for c in cells["cells"]])
                claims = claim_counts(cells.get("claims") or [])
                if saved["manifest"].get("code_sha256") != code_sha256():
                    note = "produced by other code than this checkout's: rerun to refresh"
        except NoSavedResultsError:
            note = (
                f"no complete run here (python -m repro validate {table_id} says what is missing)"
            )
        except SavedResultsError as exc:
            note = exc.problem
        except (TypeError, KeyError, ValueError) as exc:
            note = f"saved cells do not parse ({exc}): rerun"
        entries.append(
            {
                "id": table_id,
                "title": spec.title,
                "version": spec.version,
                "counts": counts,
                "claims": claims,
                "note": note,
                "has_report": bool(counts) and (reports_dir() / f"{table_id}.md").is_file(),
            }
        )
    path = reports_dir() / "index.md"
    atomic_write_text(path, index_markdown(entries))
    return str(path)
