"""What the CLI prints: one-line errors, JSON documents, aligned lists, per-image scores and
what they were scored on (a table run's cells: :mod:`repro.cli.table_output`)."""

from __future__ import annotations

import json
import math
import sys


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


def scoring_line(metrics: list[str], protocol: dict, crop: int, mod_crop: int | None = None) -> str:
    """What the values were scored on: channel, border crop, gray images, SSIM kind (and the
    mod-crop ``repro score --mod-crop`` applied first).

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
        if mod_crop and mod_crop > 1:
            part += f" after a mod-crop of both images to a multiple of {mod_crop}"
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


def print_image_rows(
    rows: list[dict],
    means: dict[str, float],
    metrics: list[str],
    *,
    seconds: bool = True,
    quiet: bool = False,
) -> None:
    """One line per image (a stereo pair: per view) with its metrics (and the forward's seconds),
    then the means; ``quiet``: the means alone."""
    columns = [*metrics, "seconds"] if seconds else list(metrics)
    names = [r["image"] + (f" ({r['view']})" if r.get("view") else "") for r in rows]
    width = max([len("image"), len("mean")] + [len(n) for n in names])
    widths = [max(10, len(c)) for c in columns]

    def line(label: str, values: list) -> str:
        texts = ["–" if v is None else f"{v:.4f}" for v in values]
        # the mean line stops before the seconds column
        return f"{label:<{width}}" + "".join(
            f" {t:>{w}}" for t, w in zip(texts, widths, strict=False)
        )

    if not quiet:
        print(
            f"{'image':<{width}}"
            + "".join(f" {c:>{w}}" for c, w in zip(columns, widths, strict=True))
        )
        for name, r in zip(names, rows, strict=True):
            print(line(name, [r.get(c) for c in columns]))
    if metrics:
        print(line("mean", [means[c] for c in metrics]))
