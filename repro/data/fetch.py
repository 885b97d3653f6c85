"""``repro fetch <name>``: get a set from its card's source, verify it, lay it out.

One fetch of a set runs at a time (a second one waits, then finds the set). Sources, in order:
the card's pinned Hub snapshot (the loader's own path, into the HF cache), then its official
archive (``source.archive``: url, then mirrors; HTTP(S) or Google Drive, :mod:`repro.download`:
whole files only, resumed only on the server's proof, redirects kept to the card's hosts, a
deadline and a minimum rate). ``HF_HUB_OFFLINE=1`` means no download at all. An archive is
unpacked safely (:mod:`repro.data.archives`) into a staging folder; the folder inside it that
holds the card's layout (``source.archive.root``, or the one folder matching a layout and a
``local_dirs`` name) must hold every image the card counts, each with all its files, before
anything is recorded; it is then renamed into place:

- ``--data-root DIR``: ``DIR/<name>``;
- otherwise ``<repro-cache>/fetched/<name>`` (:func:`repro.paths.fetched_dir`), a data root the
  loader searches after ``REPRO_DATA`` and before ``shared/data`` (whose sample copies a fetched
  set completes). A Hub set gets a link there to its unpacked folder, for the same reason.

Verification: the card's sha256 of the archive and of each file, where it has them; for the
rest, the first fetch records the sha256 of the archive and of every file in the dataset lock
(:mod:`repro.data.fetch_lock`, trust on first use) and every later fetch, from any URL or
mirror, or from a download an earlier run left, is held to that first record; loads are checked
against it. Runs never call this: a missing archive set says which command to run.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from repro.data.archives import unpack_archive
from repro.data.cards import get_card
from repro.data.dataset import Dataset, match_layout
from repro.data.fetch_lock import (
    VERIFIED_CARD,
    VERIFIED_TOFU,
    DatasetLock,
    fetching,
    hash_tree,
    lock_path,
    new_lock,
    read_lock,
    shown,
    write_lock,
)
from repro.data.hub import hub_offline, hub_snapshot, snapshot_commit
from repro.data.loaders import open_dataset, open_hub
from repro.data.schema import Card
from repro.data.staging import place, scratch_folder
from repro.download import RefusedRedirect, downloaded
from repro.errors import ChecksumError, DataError, DownloadError, MissingDataError
from repro.paths import cache_dir, fetched_dir, labelled_data_roots

#: Largest archive downloaded (the largest official test-set archive is a few GB).
MAX_FETCH_BYTES = 64 << 30
_MAX_DEPTH = 6  # how deep the folder holding the layout may sit inside an archive


@dataclass(frozen=True)
class Fetched:
    """What a fetch did: where the set is, where it came from, how it was verified."""

    card: Card
    folder: Path
    label: str  # the folder as messages show it
    source: str  # the URL (mirror) that answered, hf://repo@commit, or "present"
    verified: str  # VERIFIED_CARD, VERIFIED_TOFU, or "present" (nothing fetched)
    files: int
    by_card: int  # files whose sha256 the card publishes, checked
    archive_sha256: str | None = None
    size: int | None = None  # bytes downloaded
    first_use: bool = False  # the lock was written by this fetch: trust on first use
    note: str = ""

    @property
    def lock(self) -> Path:
        return lock_path(self.card.name)

    def as_dict(self) -> dict:
        return {
            "dataset": self.card.name,
            "folder": self.label,
            "source": self.source,
            "verified": self.verified,
            "files": self.files,
            "checked_against_card": self.by_card,
            "archive_sha256": self.archive_sha256,
            "bytes": self.size,
            "lock": shown(self.lock) if self.verified != "present" else None,
            "trust_on_first_use": self.first_use,
            "note": self.note,
        }


def by_hand(card: Card) -> str:
    return (
        f"put it in <data root>/{card.local_dirs[0]} by hand (datasets/{card.name}.yaml names "
        "its sources)"
    )


def fetch_target(card: Card, data_root: str | os.PathLike | None) -> Path:
    """Where an archive set is placed: ``<data root>/<name>``, else the fetched folder."""
    root = labelled_data_roots(data_root)[0][1] if data_root else fetched_dir()
    return root / card.local_dirs[0]


def fetch(
    name: str,
    scale: int | None = None,
    *,
    data_root: str | os.PathLike | None = None,
    progress: bool = True,
) -> Fetched:
    """Fetch dataset ``name`` unless a complete copy is found; see the module docstring."""
    card = get_card(name)
    scale = card.scales[0] if scale is None else scale
    with fetching(card.name):  # a second fetch of the set waits, then finds it here
        return _fetch(card, scale, data_root, progress)


def _fetch(card: Card, scale: int, data_root, progress: bool) -> Fetched:
    present = _present(card, scale, data_root)
    if present is not None:
        return present
    failed = []
    if card.hub is not None and card.hub.revision is not None:
        if data_root:
            raise DataError(
                f"{card.name} comes from the Hub ({card.hub.repo}), whose files stay in the "
                "Hugging Face cache: --data-root does not apply; drop it"
            )
        try:
            return _from_hub(card, scale)
        except MissingDataError as exc:
            failed.append(str(exc))
    archive = card.archive
    if archive is not None and archive.manual is None:
        return _from_archive(card, scale, fetch_target(card, data_root), progress, failed)
    why = archive.manual if archive is not None else (card.source_note or "no source is known")
    tried = f"{'; '.join(failed)}; " if failed else ""
    raise MissingDataError(
        f"{card.name} cannot be fetched by one command: {tried}{why}; {by_hand(card)}"
    )


def _present(card: Card, scale: int, data_root) -> Fetched | None:
    """A complete local copy, or an earlier fetch's (a shipped sample copy does not count)."""
    try:
        data = open_dataset(card.name, scale, data_root=data_root, use_hub=False)
    except MissingDataError:
        return None
    fetched = {fetch_target(card, data_root), fetched_dir() / card.local_dirs[0]}
    if not data.complete and data.root not in fetched:
        return None
    return Fetched(card, data.root, data.label, "present", "present", len(data.names), 0)


# -- the Hub ----------------------------------------------------------------------------------
def _from_hub(card: Card, scale: int) -> Fetched:
    folder = hub_snapshot(card)
    data = open_hub(card, folder, scale, lr_mode="official", rounding="matlab")
    source = f"hf://{card.hub.repo}@{snapshot_commit(card, folder)}"  # type: ignore[union-attr]
    files = hash_tree(data.root)
    by_card = _check_card(card, data.root, files)
    lock = read_lock(card.name)
    first = lock is None or lock.source != source  # a new pin in the card: recorded anew
    if lock is not None and not first:
        _check_lock(card, lock, source, None, files)
        write_lock(_with_folder(lock, data.root))
    else:
        write_lock(new_lock(card.name, source, None, VERIFIED_TOFU, data.root, files))
    link = fetched_dir() / card.local_dirs[0]
    if link.is_symlink():
        link.unlink()
    if not link.exists():  # the loader then prefers it to a shipped sample copy
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(data.root.resolve(), link, target_is_directory=True)
    return Fetched(
        card, link, shown(link), source, VERIFIED_TOFU, len(files), by_card, first_use=first
    )


# -- an archive -------------------------------------------------------------------------------
def _from_archive(card: Card, scale: int, target: Path, progress: bool, failed: list) -> Fetched:
    archive = card.archive
    assert archive is not None  # fetch() checked
    if target.exists() or target.is_symlink():
        raise DataError(
            f"{target} exists but holds no complete {card.name} at x{scale}; move it away and "
            "fetch again"
        )
    hub = f" (the Hub first: {'; '.join(failed)})" if failed else ""
    if hub_offline():
        raise MissingDataError(
            f"{card.name}: HF_HUB_OFFLINE=1 is set, so nothing is downloaded{hub}; unset it to "
            f"fetch the archive, or {by_hand(card)}"
        )
    lock = read_lock(card.name)
    with contextlib.ExitStack() as stack:
        try:
            got = stack.enter_context(
                downloaded(
                    archive.urls,
                    cache_dir() / "downloads",
                    sha256=archive.sha256,
                    max_bytes=MAX_FETCH_BYTES,
                    hosts=archive.hosts,
                    progress=progress,
                )
            )
        except DownloadError as exc:
            hosts = exc.hosts if isinstance(exc, RefusedRedirect) else ()
            listed = (
                f"; if {', '.join(hosts)} serves the official file, list it in source.archive."
                f"hosts of datasets/{card.name}.yaml"
                if hosts
                else ""
            )
            raise MissingDataError(
                f"{card.name}: cannot download its archive{hub}: {exc}{listed}; run the same "
                f"command again, or {by_hand(card)}"
            ) from None
        todo = f"nothing was kept: run repro fetch {card.name} again, or {by_hand(card)}"
        tmp = stack.enter_context(scratch_folder(card, target))
        unpack_archive(card, got.path, tmp, todo=todo)
        root = find_root(card, tmp, scale)
        data = _whole_set(card, root, scale, got.url, todo)
        files = hash_tree(root)
        by_card = _check_card(card, root, files)
        if archive.sha256 is not None or lock is None:  # the card vouches, or a first fetch
            verified = VERIFIED_CARD if archive.sha256 is not None else VERIFIED_TOFU
            record = new_lock(card.name, got.url, got.sha256, verified, target, files)
            note = ""
        else:  # held to the first record, whatever URL, mirror or earlier download gave this
            note = _check_lock(card, lock, got.url, got.sha256, files)
            record = _with_folder(lock, target)
        write_lock(record)
        place(card, root, target)
    count = f"{len(data.names)} images" + (f" of {card.images}" if card.images else "")
    notes = (f"{count} at x{scale}, layout {data.layout.name}", note)
    return Fetched(
        card,
        target,
        shown(target),
        got.url,
        record.verified,
        len(files),
        by_card,
        archive_sha256=got.sha256,
        size=got.size,
        first_use=lock is None and archive.sha256 is None,
        note="; ".join(n for n in notes if n),
    )


def _whole_set(card: Card, root: Path, scale: int, url: str, todo: str) -> Dataset:
    """The unpacked set, refused unless it holds every image the card counts, every file each.

    A short archive (a truncated download or mirror copy) is an error, never a partial set:
    nothing of it is locked or kept.
    """
    layout = match_layout(card, root, scale)  # find_root found one
    data = Dataset(card, root, layout, scale)  # type: ignore[arg-type]  # lists the images
    if not data.complete:
        raise DataError(
            f"{card.name}: the archive from {url} holds {len(data.names)} images at x{scale}, "
            f"the card counts {card.images} ('images' in datasets/{card.name}.yaml): a "
            f"truncated or incomplete copy; {todo}"
        )
    for name in data.names:
        for path in (p for paths in data.files(name).values() for p in paths):
            if not path.is_file():
                rel = path.relative_to(root).as_posix()
                raise DataError(
                    f"{card.name}: the archive from {url} lacks {rel} (image {name}, layout "
                    f"{data.layout.name}): an incomplete copy; {todo}"
                )
    return data


def find_root(card: Card, folder: Path, scale: int) -> Path:
    """The folder of an unpacked archive that holds the card's layout at ``scale``.

    ``source.archive.root`` when the card names it; else the one folder matching a layout,
    preferring those named like a ``local_dirs`` entry (an archive may hold several sets).
    """
    archive = card.archive
    if archive is not None and archive.root:
        root = folder / archive.root
        if root.is_dir() and match_layout(card, root, scale) is not None:
            return root
        raise DataError(
            f"{card.name}: the archive holds no {archive.root}/ matching the card's layouts at "
            f"x{scale} (it holds {_listing(folder)}); fix source.archive.root in "
            f"datasets/{card.name}.yaml"
        )
    found = [d for d in _folders(folder) if match_layout(card, d, scale) is not None]
    names = {PurePosixPath(d).name.lower() for d in card.local_dirs}
    named = [d for d in found if d.name.lower() in names]
    found = named or found
    if len(found) == 1:
        return found[0]
    shown_found = ", ".join(d.relative_to(folder).as_posix() or "." for d in found[:5])
    what = f"{len(found)} folders match ({shown_found})" if found else "no folder matches"
    raise DataError(
        f"{card.name}: {what} the card's layouts at x{scale} in the archive (it holds "
        f"{_listing(folder)}); name the right one in source.archive.root of "
        f"datasets/{card.name}.yaml"
    )


def _folders(folder: Path) -> list[Path]:
    out = []
    for base, dirs, _ in os.walk(folder):
        depth = len(Path(base).relative_to(folder).parts)
        dirs[:] = sorted(d for d in dirs if d != "__MACOSX") if depth < _MAX_DEPTH else []
        out.append(Path(base))
    return out


def _listing(folder: Path) -> str:
    top = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    return ", ".join(top[:6]) + (", ..." if len(top) > 6 else "") if top else "nothing"


# -- verification -----------------------------------------------------------------------------
def _check_card(card: Card, root: Path, files: dict[str, str]) -> int:
    """Check the files the card publishes a sha256 for; return how many there were."""
    checked = 0
    for rel, digest in files.items():
        expected = card.sha256.get(rel)
        if expected is None:
            continue
        if digest != expected:
            raise ChecksumError(
                f"{card.name}: {rel} of the download has sha256 {digest}, the card publishes "
                f"{expected}; nothing was kept: the source serves another file, {by_hand(card)}"
            )
        checked += 1
    return checked


def _check_lock(
    card: Card, lock: DatasetLock, source: str, archive_sha256: str | None, files: dict
) -> str:
    """Compare a new download with the first fetch's record; a changed file is an error.

    An archive re-packed with the very same files is accepted (the returned note says so).
    """
    every = sorted(set(files) | set(lock.files))
    changed = [rel for rel in every if files.get(rel) != lock.files.get(rel)]
    repacked = archive_sha256 is not None and archive_sha256 != lock.archive_sha256
    if not changed:
        return f"re-packed archive (sha256 {lock.archive_sha256} before), same files" * repacked
    rel = changed[0]
    now = f"sha256 {files[rel]}" if rel in files else "absent"
    before = f"sha256 {lock.files[rel]}" if rel in lock.files else "absent"
    packed = f" (archive sha256 {archive_sha256}, recorded {lock.archive_sha256})" * repacked
    raise ChecksumError(
        f"{card.name}: the files from {source} changed since the first fetch "
        f"({lock.recorded[:10]}, from {lock.source}){packed}: {rel} is {now} now, {before} in "
        f"{shown(lock_path(card.name))} ({len(changed)} file(s) differ); nothing was kept: if "
        "the change is expected, delete that lock and fetch again"
    )


def _with_folder(lock: DatasetLock, folder: Path) -> DatasetLock:
    kept = tuple(f for f in lock.folders if Path(f).exists() or f == str(folder.resolve()))
    return replace(lock, folders=tuple(dict.fromkeys((*kept, str(folder.resolve())))))
