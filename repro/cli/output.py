"""What the CLI prints: one-line errors, JSON documents, aligned lists, per-image scores and
what they were scored on, the compared cells of a table."""

from __future__ import annotations

import json
import math
import sys

from repro.report.markdown import fmt, fmt_delta
from repro.tables.compare import status_counts, status_label


def escape_unprintable_names() -> None:
    """A file name that is not valid UTF-8 (surrogates after decoding) prints escaped instead of
    raising UnicodeEncodeError on a strict UTF-8 terminal."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


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


def _cell(value) -> str:
    if isinstance(value, list | tuple):
        value = ",".join(map(str, value))
    return str(value) if value not in ("", None) else "-"


def print_columns(items: list[dict], columns: list[str]) -> None:
    """``columns`` of ``items`` aligned under a header; lists joined by commas, empty as '-'.

    The last column is not padded: it holds the long texts (titles, descriptions).
    """
    rows = [columns] + [[_cell(item[c]) for c in columns] for item in items]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns) - 1)]
    for row in rows:
        print("  ".join([v.ljust(w) for v, w in zip(row[:-1], widths, strict=True)] + [row[-1]]))


_CHANNELS = {"y": "Y (BT.601 luma)", "rgb": "RGB", "gray": "gray (MATLAB rgb2gray)"}
_GRAY = {"rgb3": "as three identical channels", "gray": "on their one channel"}
_SSIM = {"matlab": "MATLAB's ssim_index", "skimage": "scikit-image's defaults"}


def scoring_line(metrics: list[str], protocol: dict, crop: int) -> str:
    """What the values were scored on: channel, border crop, gray images, SSIM kind.

    ``metrics`` are column names (``psnr``, ``psnr@pair_mean``); no-reference metrics are
    named apart, as they see the SR image alone.
    """
    from repro.metrics import get_metric

    names = list(dict.fromkeys(m.split("@")[0] for m in metrics))
    full = [m for m in names if get_metric(m).needs_reference]
    parts = []
    if full:
        cropped = f"{crop} border pixels cropped" if crop else "no border crop"
        gray = _GRAY.get(protocol.get("gray", "rgb3"), protocol.get("gray"))
        part = f"{', '.join(full)} on {_CHANNELS[protocol.get('channel', 'y')]}, {cropped}"
        part += f", gray images {gray}"
        if "ssim" in full:
            part += f", SSIM as {_SSIM.get(protocol.get('ssim', 'matlab'))}"
        parts.append(part)
    alone = [m for m in names if m not in full]
    if alone:
        iqa_crop = protocol.get("iqa_crop", 0)
        where = f"{iqa_crop} border pixels cropped" if iqa_crop else "the whole SR image"
        parts.append(f"{', '.join(alone)} with no reference, on {where}")
    return "scored: " + ("; ".join(parts) if parts else "nothing (no metric)")


def print_image_rows(rows: list[dict], means: dict[str, float], metrics: list[str]) -> None:
    """One line per image (its metrics and seconds), then the means."""
    columns = [*metrics, "seconds"]
    width = max([len("image"), len("mean")] + [len(r["image"]) for r in rows])
    print(f"{'image':<{width}}" + "".join(f" {c:>10}" for c in columns))
    for r in rows:
        print(f"{r['image']:<{width}}" + "".join(f" {r[c]:>10.4f}" for c in columns))
    if metrics:
        print(f"{'mean':<{width}}" + "".join(f" {means[c]:>10.4f}" for c in metrics))


def print_cells(result, paths: dict[str, str]) -> None:
    from repro.report.summary import missing, missing_line

    spec = result.spec
    title = f"{spec.id}: {spec.title}"
    print(title + ("  [PARTIAL RUN: not for reporting]" if result.partial else ""))
    print(
        f"{'row':<24} {'dataset':<10} {'metric':<22} {'reported':>10} {'reproduced':>11} "
        f"{'delta':>8}  status"
    )
    for c in result.cells:
        status = status_label(c.status, c.code, (c.images, c.images_total), c.built)
        metric = c.metric + (f"@{c.variant}" if c.variant else "")
        print(
            f"{c.label[:24]:<24} {(c.dataset or '-')[:10]:<10} {metric[:22]:<22} "
            f"{fmt(c.reported, c.metric):>10} {fmt(c.reproduced, c.metric):>11} "
            f"{fmt_delta(c.delta, c.metric):>8}  {status}"
        )
    print("status: " + ", ".join(f"{k} {v}" for k, v in status_counts(result.cells).items()))
    todo = missing_line(missing(spec, result.cells), spec.id)
    if todo:
        print(f"to run the rest: {todo.replace('`', '')}")
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
