"""What the CLI prints: one-line errors, JSON documents, the compared cells of a table."""

from __future__ import annotations

import json
import math

from repro.report.markdown import fmt, fmt_delta
from repro.tables.compare import status_counts, status_label


def one_line(text: str) -> str:
    return " ".join(text.split())


def print_json(obj) -> None:
    print(json.dumps(obj, indent=1, default=json_default, allow_nan=False))


def json_default(value):
    return str(value)


def clean(value):
    """JSON has no NaN/inf: NaN -> null, inf -> the string "inf"."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def print_cells(result, paths: dict[str, str]) -> None:
    spec = result.spec
    title = f"{spec.id}: {spec.title}"
    print(title + ("  [PARTIAL RUN: not for reporting]" if result.partial else ""))
    print(
        f"{'row':<24} {'dataset':<10} {'metric':<22} {'reported':>10} {'reproduced':>11} "
        f"{'delta':>8}  status"
    )
    for c in result.cells:
        status = status_label(c.status, c.code, (c.images, c.images_total))
        metric = c.metric + (f"@{c.variant}" if c.variant else "")
        print(
            f"{c.label[:24]:<24} {(c.dataset or '-')[:10]:<10} {metric[:22]:<22} "
            f"{fmt(c.reported, c.metric):>10} {fmt(c.reproduced, c.metric):>11} "
            f"{fmt_delta(c.delta, c.metric):>8}  {status}"
        )
    print("status: " + ", ".join(f"{k} {v}" for k, v in status_counts(result.cells).items()))
    for claim in result.claims:
        margin = f" (margin {claim.margin:+.4f})" if claim.margin is not None else ""
        print(f"claim {claim.id}: {status_label(claim.status, claim.code)}{margin}")
    prov = result.provenance
    print(
        f"images: {prov.get('images_computed', 0)} computed, "
        f"{prov.get('images_from_cache', 0)} reused from the cache (same code and files)"
    )
    report = next((p for p in paths.values() if p.endswith(f"{spec.id}.md")), "")
    print(f"wrote {paths.get(f'results:{spec.id}.csv', '')}, {report}")
