"""Hub datasets stored as parquet tables: their image bytes written as files into the cache."""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

from repro.data.schema import Card, Layout, ParquetSource, fill
from repro.data.staging import cache_target, check_member, staged_folder
from repro.errors import DataError


def _plain_name(card: Card, column: str, row: int, value: object) -> str:
    """A parquet row's image name, which becomes a file or folder name: no path in it."""
    name = str(value)
    if (
        not name
        or name in (".", "..")
        or any(c in name for c in "/\\\0")
        or bool(PureWindowsPath(name).drive)
    ):
        raise DataError(
            f"{card.name}: row {row + 1} of the parquet name column '{column}' is {name!r}, not "
            "a plain file name (no path separators, '..' or NUL); the Hub table is unsafe: put "
            "the set in a local folder (--data-root)"
        )
    return name


def materialise_parquet(card: Card, layout: Layout, snapshot: Path) -> Path:
    """Write the image bytes of a Hub parquet dataset to files, once, in the repro cache.

    Images are written byte for byte (``Image(decode=False)``), so the card's sha256 of the
    original files still applies. The folder then follows the layout's ``hr``/``lr`` templates.
    Files are written into a temporary folder renamed into place when every row is out.
    """
    import datasets as hf_datasets

    # the library's logs and progress bars would break the one-line error promise on stderr
    # (its own errors too: a corrupt file is re-raised below as one line)
    hf_datasets.utils.logging.set_verbosity(hf_datasets.utils.logging.CRITICAL)
    hf_datasets.disable_progress_bars()
    spec: ParquetSource = layout.parquet  # type: ignore[assignment]  # a parquet layout
    files = sorted(str(p) for p in snapshot.glob(spec.files))
    if not files:
        raise DataError(f"{card.name}: no parquet files in the Hub snapshot {snapshot}")
    target = cache_target(card)
    if (target / ".complete").is_file():
        return target
    try:
        table = hf_datasets.Dataset.from_parquet(files)
    except Exception as exc:  # pyarrow / datasets errors on corrupt files vary by release
        raise DataError(
            f"{card.name}: cannot read the Hub parquet files ({type(exc).__name__}); delete them "
            "from the HF cache and fetch them again"
        ) from None
    columns = spec.columns  # kind -> view -> column template
    for per_view in columns.values():
        for col in per_view.values():
            for scale in card.scales:
                name = col.replace("{scale}", str(scale))
                if name in table.column_names:
                    table = table.cast_column(name, hf_datasets.Image(decode=False))
    name_column = spec.name  # None: pairs are numbered by row, 0001, 0002, ...
    with staged_folder(card, target) as tmp:
        seen: set[str] = set()
        for row, item in enumerate(table):
            if name_column:
                name = _plain_name(card, name_column, row, item[name_column])
            else:
                name = f"{row + 1:04d}"
            if name in seen:
                raise DataError(
                    f"{card.name}: the parquet name column '{name_column}' holds {name!r} twice; "
                    "image names must be unique"
                )
            seen.add(name)
            for kind, per_view in columns.items():
                for view, col in per_view.items():
                    for scale in card.scales:
                        cell = item.get(col.replace("{scale}", str(scale)))
                        if not cell:
                            continue
                        data = cell.get("bytes") if isinstance(cell, dict) else None
                        if not isinstance(data, bytes):
                            raise DataError(
                                f"{card.name}: row {row + 1} column '{col}' holds no image "
                                "bytes; the Hub table is not usable as is"
                            )
                        rel = fill(getattr(layout, kind), name=name, scale=scale, view=str(view))
                        check_member(card, Path(files[0]), rel, tmp)
                        out = tmp / rel
                        out.parent.mkdir(parents=True, exist_ok=True)
                        out.write_bytes(data)
    return target
