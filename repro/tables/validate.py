"""``python -m repro validate <table>``: is the spec well formed, and what is missing to run it?"""

from __future__ import annotations

from repro.data.cards import get_card
from repro.data.loaders import open_dataset
from repro.errors import MissingDataError, MissingWeightsError, SpecError, UnknownNameError
from repro.models import registry
from repro.models.weights import converted_path, fetch_advice, find_local
from repro.tables.spec import load_spec


def validate(table_id: str, data_root: str | None = None) -> dict:
    """Check a spec without running it; SpecError for a malformed one, else what is missing."""
    spec = load_spec(table_id)
    from repro.eval.predictor import find_weights_entry

    missing, ready = [], []
    for name in spec.datasets:
        try:
            get_card(name)
        except UnknownNameError as exc:
            raise SpecError(f"table {spec.id}: {exc}") from None
    scales_by_dataset: dict[str, set[int]] = {}
    for row in spec.rows:
        if row.status or row.model is None:
            continue
        try:
            info = registry.get(row.model)
        except UnknownNameError:
            missing.append(f"model {row.model} (row {row.id}): NOT-IMPLEMENTED in this suite")
            continue
        if row.scale not in info.scales:
            raise SpecError(f"table {spec.id}: row {row.id} asks x{row.scale} of {info.id}")
        for d in spec.datasets:
            scales_by_dataset.setdefault(d, set()).add(row.scale)
        if not info.needs_weights:
            continue
        try:
            entry = find_weights_entry(info, row.scale, row.weights)
        except MissingWeightsError as exc:
            missing.append(f"weights for row {row.id}: {exc}")
            continue
        if entry is None:
            missing.append(f"weights for row {row.id}: no released checkpoint; use --weights")
        elif converted_path(entry).is_file() or find_local(entry):
            ready.append(f"weights {entry.id}")
        else:
            missing.append(f"weights {entry.id} (row {row.id}): {fetch_advice(entry)}")

    for name, scales in scales_by_dataset.items():
        for scale in sorted(scales):
            try:
                data = open_dataset(name, scale, data_root=data_root, use_hub=False)
            except MissingDataError as exc:
                missing.append(f"data {name} x{scale}: {exc}")
                continue
            part = "" if data.complete else f", partial: {len(data)} of {data.card.images}"
            ready.append(f"data {name} x{scale}: {data.root} ({len(data)} images{part})")
    return {
        "table": spec.id,
        "protocol_version": spec.version,
        "rows": len(spec.rows),
        "columns": len(spec.columns),
        "missing": sorted(set(missing)),
        "ready": sorted(set(ready)),
    }
