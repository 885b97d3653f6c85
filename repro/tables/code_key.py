"""The code a table's saved numbers and verdicts depend on (its manifest's ``code_sha256``).

The union of its jobs' closures (:func:`repro.eval.code_key.job_code`: every model the spec
names, every metric of its columns), plus the code that measures cost columns (params, latency,
memory here; FLOPs by each family's counter, a root of the family already), runs the table and
compares: spec parsing, cells, tolerances and claims. Report rendering is not part of it: a
report is rendered again from the saved results (``repro report``) without running anything.
"""

from __future__ import annotations

from repro.eval.code_key import EVALUATION_ROOTS, metric_roots, model_roots
from repro.provenance import CodeClosure, code_closure
from repro.tables.spec import TableSpec

TABLE_ROOTS = (
    "repro.tables.run",  # what is measured, the means, the NOT-RUN reasons
    "repro.tables.compare",  # cells, tolerances, verdicts and claims
    "repro.tables.spec",  # spec parsing
    "repro.eval.complexity",  # params, latency, memory
)


def table_roots(spec: TableSpec) -> set[str]:
    """Where a table's code closure starts: every row that names a model, every column's
    metric, the evaluation, cost and comparison code."""
    roots = {*EVALUATION_ROOTS, *TABLE_ROOTS}
    for row in spec.rows:
        if row.model is not None:
            roots |= model_roots(row.model)
    for column in spec.columns:
        roots |= metric_roots(column.metric)
    return roots


def table_code(spec: TableSpec) -> CodeClosure:
    """The code closure of a table (its saved results' ``code``)."""
    return code_closure(table_roots(spec))
