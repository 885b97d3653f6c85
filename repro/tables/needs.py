"""``repro get <table>``: what a table needs that is not here, and getting it all.

:func:`plan` lists, for the rows a table runs, every dataset (at each scale a row needs) and every
checkpoint or metric weight file, each with whether it is here, where it comes from, its size
where known and how its bytes will be checked: a sha256 published by a source the card or the
weights catalogue names, the record of an earlier fetch (the dataset or weights lock), or trust
on first use (nobody published one: the first download's sha256 is recorded, and every later
fetch and load is held to it). A backend a row needs (spandrel) is listed too, with its install
command. :func:`get` fetches every missing item through the same code as ``repro fetch`` and
``repro pull`` (resumable downloads, one fetch of a file at a time, verified, locked); accepting
the plan accepts its trust-on-first-use items.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from repro.data.cards import get_card
from repro.data.fetch_lock import read_lock
from repro.data.loaders import open_dataset
from repro.errors import MissingDataError, NotRun, ReproError, WeightsError
from repro.eval.predictor import find_weights_entry
from repro.metrics import get_metric
from repro.models import registry
from repro.tables.spec import TableSpec
from repro.weights import WeightsEntry, converted_path, find_local
from repro.weights.hub import hf_url
from repro.weights.lock import VERIFIED_LOCK, VERIFIED_NAME, VERIFIED_REGISTRY, expected_sha256

DATA, WEIGHTS, BACKEND = "data", "weights", "backend"
TOFU = "trusted on first use (nobody publishes a sha256: the first download's is recorded)"


@dataclass(frozen=True)
class Item:
    """One thing a table needs."""

    kind: str  # DATA, WEIGHTS or BACKEND
    name: str  # "Set5 x4", a weights id, a backend's name
    rows: tuple[str, ...]  # the row labels (or metrics) it serves
    here: bool
    state: str  # "here", "missing", "partial: 5 of 100 images", ...
    source: str  # where it comes from (a URL, hf://..., an install command)
    check: str  # how its bytes will be checked
    size: int | None = None  # bytes, where known
    fetchable: bool = True  # False: no single command gets it (the reason is in ``source``)
    fetch: Callable[[], str] | None = None  # gets it; returns what was done

    @property
    def todo(self) -> bool:
        return not self.here


def plan(spec: TableSpec, *, data_root: str | os.PathLike | None = None) -> list[Item]:
    """Every dataset and weight file the table's runnable rows need, in the spec's order."""
    rows = [r for r in spec.rows if r.model is not None and r.status is None]
    items: dict[tuple[str, str], Item] = {}

    def add(item: Item) -> None:
        old = items.get((item.kind, item.name))
        if old is None:
            items[(item.kind, item.name)] = item
        elif not set(item.rows) <= set(old.rows):
            rows = tuple(dict.fromkeys((*old.rows, *item.rows)))
            items[(item.kind, item.name)] = replace(old, rows=rows)

    for row in rows:
        info = registry.get(row.model)
        if info.requires is not None:
            backend = _backend(info, row.label)
            if backend is not None:
                add(backend)
        if info.needs_weights:
            add(_checkpoint(info, row))
    image_metrics = {c.metric for c in spec.columns if c.dataset is not None}
    for metric in sorted(image_metrics):
        for entry in get_metric(metric).weights:
            add(_weights_item(entry, (f"metric {metric}",)))
    for name in spec.datasets:
        for scale in sorted({r.scale for r in rows}):
            labels = tuple(r.label for r in rows)
            add(_dataset(spec, name, scale, labels, data_root))
    return list(items.values())


def _backend(info, label: str) -> Item | None:
    try:
        info.requires()
    except NotRun as exc:
        return _by_hand(BACKEND, info.family, label, "not installed", exc.detail)
    return None


def _by_hand(kind: str, name: str, label: str, state: str, why: str) -> Item:
    """Something no command of this suite gets: ``why`` says what to do."""
    return Item(kind, name, (label,), False, state, why, "", fetchable=False)


# --------------------------------------------------------------------------- weights
def _checkpoint(info, row) -> Item:
    try:
        entry = find_weights_entry(info, row.scale, row.weights)
    except WeightsError as exc:
        return _by_hand(WEIGHTS, row.weights or info.id, row.label, "unknown", str(exc))
    if entry is None:
        why = "no released checkpoint: the row runs with --weights PATH only"
        return _by_hand(WEIGHTS, f"{info.id} x{row.scale}", row.label, "missing", why)
    return _weights_item(entry, (row.label,))


def _weights_item(entry: WeightsEntry, rows: tuple[str, ...]) -> Item:
    from repro.weights.fetch import pull  # torch-heavy: imported when a plan is made

    here = (entry.kind == "model" and converted_path(entry).is_file()) or (
        find_local(entry) is not None and not entry.member
    )
    if entry.hub_repo and entry.hub_revision:
        source = hf_url(entry.hub_repo, entry.hub_revision, entry.filename)
    elif entry.urls:
        source = entry.urls[0] + (f" (+{len(entry.urls) - 1} mirrors)" * (len(entry.urls) > 1))
    else:
        source = entry.source or "no download source"
    if entry.member:
        source += f", its member {entry.member}"
    fetchable = bool(entry.urls or entry.hub_repo) and entry.cache != "hf"
    return Item(
        WEIGHTS,
        entry.id,
        rows,
        here,
        "here" if here else "missing",
        source if fetchable else f"by hand: {source}",
        _weights_check(entry),
        size=entry.size,
        fetchable=fetchable,
        fetch=lambda: f"{entry.id}: {pull(entry, trust=True)}",
    )


def _weights_check(entry: WeightsEntry) -> str:
    sha, level, record = expected_sha256(entry)
    if level == VERIFIED_REGISTRY:
        return f"sha256 {sha[:12]}… published ({entry.sha256_source or entry.source})"
    if level == VERIFIED_NAME:
        return f"the sha256 prefix {sha} in its file name"
    if level == VERIFIED_LOCK:
        return f"the sha256 accepted on {str((record or {}).get('date', '?'))[:10]} (weights lock)"
    return TOFU


# --------------------------------------------------------------------------- datasets
def _dataset(spec, name: str, scale: int, rows: tuple[str, ...], data_root) -> Item:
    from repro.data.fetch import fetch

    card = get_card(name)
    label = f"{card.name} x{scale}"
    try:
        data = open_dataset(
            card.name,
            scale,
            data_root=data_root,
            lr_mode=spec.protocol.get("lr", "official"),
            rounding=spec.protocol.get("rounding", "matlab"),
            use_hub=False,
        )
    except MissingDataError:
        state, here = "missing", False
    else:
        here = data.complete
        state = "here" if here else f"partial: {len(data)} of {card.images or '?'} images"
    source, check, fetchable = _dataset_source(card)

    def get_it() -> str:
        got = fetch(card.name, scale, data_root=data_root, progress=True)
        if got.verified == "present":
            return f"{label}: already here ({got.label})"
        return f"{label}: {got.files} files in {got.label}, from {got.source} ({got.verified})"

    return Item(DATA, label, rows, here, state, source, check, fetchable=fetchable, fetch=get_it)


def _dataset_source(card) -> tuple[str, str, bool]:
    lock = read_lock(card.name)
    held = f"held to the first fetch's record (dataset lock, {lock.recorded[:10]})" if lock else ""
    if card.hub is not None and card.hub.revision is not None:
        source = f"hf://datasets/{card.hub.repo}@{card.hub.revision}"
        return source, held or TOFU, True
    archive = card.archive
    if archive is not None and archive.manual is None:
        more = f" (+{len(archive.mirrors)} mirrors)" if archive.mirrors else ""
        if archive.sha256:
            check = f"sha256 {archive.sha256[:12]}… published in datasets/{card.name}.yaml"
        else:
            check = held or TOFU
        return archive.url + more, check, True
    why = archive.manual if archive is not None else (card.source_note or "no source is known")
    return f"by hand: {why} (datasets/{card.name}.yaml)", "", False


# --------------------------------------------------------------------------- getting
def get(items: list[Item]) -> list[str]:
    """Fetch every missing, fetchable item; what was done, one line each. Raise one ReproError
    naming every item that failed (the others are kept: each fetch is whole on its own)."""
    done, failed = [], []
    for item in items:
        if not item.todo or not item.fetchable or item.fetch is None:
            continue
        try:
            done.append(item.fetch())
        except ReproError as exc:
            failed.append(f"{item.name}: {' '.join(str(exc).split())}")
    if failed:
        got = f"; got {len(done)} other(s)" if done else ""
        raise ReproError(f"{len(failed)} item(s) could not be got{got}: " + " | ".join(failed))
    return done


def left_by_hand(items: list[Item]) -> list[Item]:
    """Missing items no command gets (placed by hand, a backend to install)."""
    return [i for i in items if i.todo and not i.fetchable]
