"""``repro validate <table>``: the whole schema of a spec, then what is missing to run it.

Reading a spec (:func:`repro.tables.spec.parse_spec`) checks every key and type;
:func:`check_spec` checks what needs the registries: models, their settings and scales, weights
ids, dataset cards, metrics. The tests call the same function on every shipped table, so
``repro validate`` and pytest accept exactly the same specs.
"""

from __future__ import annotations

from repro.data.cards import get_card
from repro.data.imresize import ROUNDING_MODES
from repro.data.loaders import open_dataset
from repro.errors import MissingDataError, MissingWeightsError, SpecError, UnknownNameError
from repro.eval.predictor import find_weights_entry
from repro.metrics import get_metric
from repro.models import registry
from repro.tables.spec import TableSpec, load_spec
from repro.weights import converted_path, fetch_advice, find_local


def check_spec(spec: TableSpec) -> None:
    """Raise a one-line SpecError at the first name of the spec that no registry knows."""
    where = spec.label

    def known(key: str, lookup, name: str):
        try:
            return lookup(name)
        except UnknownNameError as exc:
            raise SpecError(f"{where}: key '{key}': {exc}") from None

    for i, col in enumerate(spec.columns):
        known(f"columns[{i}].metric", get_metric, col.metric)
        if col.dataset is not None:
            known(f"columns[{i}].dataset", get_card, col.dataset)
        if not {col.metric, col.metric.split("_")[0]} & set(spec.tolerance):
            raise SpecError(f"{where}: column {col.key} needs a tolerance.{col.metric}")
    for metric in spec.tolerance:
        known(f"tolerance.{metric}", get_metric, metric)
    if spec.protocol.get("rounding", ROUNDING_MODES[0]) not in ROUNDING_MODES:
        raise SpecError(f"{where}: key 'protocol.rounding' must be one of {ROUNDING_MODES}")
    if not spec.source.note:
        raise SpecError(f"{where}: key 'source.note' is missing (the transcription caveats)")
    for row in spec.rows:
        if row.model is None:
            continue
        at = f"rows[{row.id}]"
        info = known(f"{at}.model", registry.get, row.model)
        unknown = sorted(set(row.settings) - set(info.settings))
        if unknown:
            raise SpecError(
                f"{where}: key '{at}.settings': {info.id} takes no {unknown}; "
                f"it takes: {list(info.settings) or 'none'}"
            )
        if row.status is None and row.scale not in info.scales:
            raise SpecError(
                f"{where}: key '{at}.scale': {info.id} has no x{row.scale} "
                f"(it has {', '.join(f'x{s}' for s in info.scales)}); or give the row a status"
            )
        if row.weights is not None and row.weights not in info.catalogue:
            raise SpecError(
                f"{where}: key '{at}.weights': unknown weights '{row.weights}' for {info.id}; "
                f"known: {sorted(info.catalogue) or 'none'}"
            )


def validate(table: str, data_root: str | None = None) -> dict:
    """Check a spec (a table id, or the path of a spec file) without running it; SpecError for
    a malformed one, else what is missing and what is ready.

    ``missing`` holds one line per thing to get, each saying which rows wait for it (rows that
    share a checkpoint, or a reason, are grouped on one line: its advice is said once).
    """
    spec = load_spec(table)
    check_spec(spec)
    waiting: dict[str, list[str]] = {}  # what is missing (its line's head and advice) -> rows
    ready = []
    scales_by_dataset: dict[str, set[int]] = {}
    for row in spec.rows:
        if row.status or row.model is None:
            continue
        info = registry.get(row.model)
        for d in spec.datasets:
            scales_by_dataset.setdefault(d, set()).add(row.scale)
        if not info.needs_weights:
            continue
        try:
            entry = find_weights_entry(info, row.scale, row.weights)
        except MissingWeightsError as exc:
            waiting.setdefault(f"weights: {exc}", []).append(row.id)
            continue
        if entry is None:
            waiting.setdefault("weights: no released checkpoint; use --weights", []).append(row.id)
        elif converted_path(entry).is_file() or find_local(entry):
            ready.append(f"weights {entry.id}")
        else:
            waiting.setdefault(f"weights {entry.id}: {fetch_advice(entry)}", []).append(row.id)
    missing = [_with_rows(what, rows) for what, rows in waiting.items()]
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


def _with_rows(what: str, rows: list[str]) -> str:
    """``weights X: advice`` -> ``weights X (rows a, b): advice``."""
    head, _, advice = what.partition(": ")
    noun = "row" if len(rows) == 1 else "rows"
    return f"{head} ({noun} {', '.join(rows)}): {advice}"
