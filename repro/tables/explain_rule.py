"""When the gap explainer may say a change *explains* a gap, and how it names a cell's column.

One rule for the text, the JSON and the report: a change explains a gap when it alone lands
within the cell's tolerance AND moves Δ by at least MATERIAL x the tolerance; a gap beyond the
tolerance by less than MATERIAL x the tolerance that no change explains is within noise of it.
"""

from __future__ import annotations

from repro.tables.spec import Column, Row

MATERIAL = 0.5
EXPLAINS = (
    f"a change explains the gap when it alone lands within the tolerance and moves Δ by at "
    f"least {MATERIAL:g} x the tolerance; a gap beyond the tolerance by less than {MATERIAL:g} x "
    "the tolerance that no change explains is within noise of the tolerance"
)
DATASET_FREE = "-"  # how a table prints the dataset of a column that has none (params, FLOPs)


def is_material(shift: float, tolerance: float) -> bool:
    """Does a change move Δ by at least MATERIAL x the tolerance (any move, for tolerance 0)?"""
    return abs(shift) >= MATERIAL * tolerance if tolerance > 0 else shift != 0


def beyond_by_noise(delta: float, tolerance: float) -> bool:
    """Is |Δ| beyond the tolerance, by less than MATERIAL x the tolerance?"""
    excess = abs(delta) - tolerance
    return tolerance > 0 and 0 < excess < MATERIAL * tolerance


def anomaly_words(row: Row, col: Column) -> str | None:
    """The spec's flag on the paper's number in this cell, in words with its reason."""
    anomaly = row.anomalies.get(col.key)
    return f"{anomaly.label}: {anomaly.reason}" if anomaly else None
