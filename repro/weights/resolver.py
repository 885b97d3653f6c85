"""Find a weight file here and check its bytes: the one resolver of models and metrics.

Search order, for a model checkpoint (``kind="model"``):

1. its converted copy ``<cache>/weights/<entry id>.safetensors`` (made by ``repro pull``);
2. ``<dir>/<filename>`` and ``<dir>/*/<filename>`` for each of :func:`repro.paths.weights_dirs`
   (``REPRO_WEIGHTS``, then shared/weights); a name that keeps its release folder
   (``LightSR/CAMixerSRx2.pth``) is also found under its bare name when it fits the entry's
   model (see :attr:`WeightsEntry.model`).

For a metric file (``kind="metric"``): ``<dir>/<subdir>/<filename>`` and ``<dir>/<filename>``
for each weights folder, then its copy ``<cache>/weights/<subdir>/<filename>`` (made by ``repro
pull <metric>``), then (``cache="torch"``) torch's hub folder, ``pyiqa/``, ``checkpoints/`` and
``clip/`` (where pyiqa, torchvision and pyiqa's CLIP keep their downloads); a Hugging Face
repository (``cache="hf"``) is a snapshot in ``<dir>/hf/`` or the HF cache.

:func:`find` only looks (stat calls: cheap enough for readiness checks); :func:`require` and
:func:`locate` also check the sha256 (computed once per unchanged file and process), so a file
that is there but wrong raises :class:`~repro.errors.WeightsChecksumError` rather than passing
for missing. Nothing here downloads (that is :mod:`repro.weights.fetch`), except the file of an
``hf://owner/repo@commit/path`` the user gives, which the HF cache holds or gets.
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path

from repro.checksums import sha256_cached
from repro.errors import (
    MissingWeightsError,
    NotRun,
    NotRunCode,
    WeightsChecksumError,
    WeightsError,
)
from repro.paths import cache_dir, hf_cache_dirs, torch_hub_dir, weights_dirs
from repro.weights.entry import WeightsEntry
from repro.weights.hub import hub_file, hub_page, is_hf_url, parse_hf_url
from repro.weights.lock import (
    TRUST_FLAG,
    VERIFIED_NONE,
    expected_sha256,
    matches,
    mismatch,
)


def converted_path(entry: WeightsEntry) -> Path:
    return cache_dir() / "weights" / f"{entry.id}.safetensors"


def pulled_path(entry: WeightsEntry) -> Path:
    """Where ``repro pull`` stores a metric file as it is: ``<cache>/weights/<subdir>/<name>``
    (``files/`` for a file without a sub-folder, apart from the converted checkpoints)."""
    return cache_dir() / "weights" / (entry.subdir or "files") / entry.filename


# ----------------------------------------------------------------------------- finding files


def find(entry: WeightsEntry) -> Path | None:
    """Where ``entry``'s file is here, in the search order above; None when nowhere.

    Not checked yet (see :func:`require`): a file that is present counts as found.
    """
    if entry.kind == "model":
        cached = converted_path(entry)
        if cached.is_file():
            return cached
    return find_local(entry)


def find_local(entry: WeightsEntry) -> Path | None:
    """The official file in a local folder (weights folders; library caches for metric files)."""
    if entry.cache == "hf":
        return _hf_snapshot(entry)
    if entry.kind == "metric":
        found = (d / entry.filename for d in search_dirs(entry))
        return next((p for p in found if p.is_file()), None)
    exact = next(_candidates(entry.filename), None)
    if exact is not None:
        return exact
    bare = Path(entry.filename).name
    if bare == entry.filename or entry.model is None:
        return None
    # torch is needed only to tell a bare-name copy apart: imported here, not for every lookup
    from repro.weights.checkpoint import fits_model

    return next((c for c in _candidates(bare) if fits_model(c, entry)), None)


def search_dirs(entry: WeightsEntry) -> list[Path]:
    """The folders a metric file is looked for in, in order."""
    if entry.cache == "hf":
        return [*(root / "hf" for root in weights_dirs()), *hf_cache_dirs()]
    dirs: list[Path] = []
    for root in weights_dirs():
        dirs += [root / entry.subdir, root] if entry.subdir else [root]
    dirs.append(pulled_path(entry).parent)
    if entry.cache == "torch":
        hub = torch_hub_dir()
        dirs += [hub / "pyiqa", hub / "checkpoints", hub / "clip"]
    return dirs


def _candidates(name: str) -> Iterator[Path]:
    for root in weights_dirs():
        if not root.is_dir():
            continue
        if (root / name).is_file():
            yield root / name
        yield from sorted(p for p in root.glob(f"*/{name}") if p.is_file())


def _hf_snapshot(entry: WeightsEntry) -> Path | None:
    """The HF cache folder (``models--org--name``) of the repository ``entry.filename`` that
    holds at least one snapshot."""
    folder = "models--" + entry.filename.replace("/", "--")
    for root in search_dirs(entry):
        snaps = root / folder / "snapshots"
        if snaps.is_dir() and any(snaps.iterdir()):
            return root / folder
    return None


# ----------------------------------------------------------------------------- advice


def by_hand(entry: WeightsEntry) -> str:
    """How to place a model checkpoint by hand (for messages after a pull failed)."""
    if entry.urls:
        where = entry.urls[0]
    elif entry.hub_repo and entry.hub_revision:
        where = hub_page(entry.hub_repo, entry.hub_revision, entry.filename)
    else:
        where = entry.source or "the official release"
    name = entry.filename
    if entry.urls and Path(urllib.parse.urlsplit(where).path).name != Path(name).name:
        return (
            f"download {where} by hand and put it in REPRO_WEIGHTS as {name}, "
            "or pass --weights PATH"
        )
    return (
        f"download {name} by hand from {where} and put it in REPRO_WEIGHTS, or pass --weights PATH"
    )


def fetch_advice(entry: WeightsEntry) -> str:
    """How to get a missing checkpoint, for messages of runs (not of ``pull`` itself)."""
    if not (entry.urls or entry.hub_repo):
        return f"no direct download exists: {by_hand(entry)}"
    pull_cmd = f"repro pull {entry.id}"
    sha, _, _ = expected_sha256(entry)
    if sha is None:
        pull_cmd += f" (its sha256 is not published: pull asks you to add {TRUST_FLAG})"
    return f"get it with: {pull_cmd}; or {by_hand(entry)}"


def _put_here(entry: WeightsEntry) -> str:
    if entry.cache == "hf":
        return f"the Hugging Face cache (~/.cache/huggingface/hub, repository {entry.filename})"
    folder = f"$REPRO_WEIGHTS/{entry.subdir}/" if entry.subdir else "$REPRO_WEIGHTS/"
    return folder + entry.filename


def missing_message(entries: Sequence[WeightsEntry], label: str = "weights") -> str:
    """One line naming each missing file and how to get it (no local paths: NOT-RUN cells and
    reports carry it, and they must read the same on every machine)."""
    parts = [
        f"weights '{e.id}' not available (not downloaded yet); {fetch_advice(e)}"
        for e in entries
        if e.kind == "model"
    ]
    files = [e for e in entries if e.kind == "metric"]
    if files:
        parts.append(f"{label} not found locally (no download is attempted): {placement(files)}")
    pullable = [e.id for e in files if e.urls or e.hub_repo]
    if pullable:
        parts.append(f"or fetch them with: repro pull {' '.join(pullable)}")
    return "; ".join(parts)


def placement(entries: Sequence[WeightsEntry]) -> str:
    """Where each metric file goes: ``name (source) -> $REPRO_WEIGHTS/<subdir>/name; ...``."""
    return "; ".join(f"{e.filename} ({e.source}) -> {_put_here(e)}" for e in entries)


def check_found(entries: Sequence[WeightsEntry], label: str = "weights") -> None:
    """Raise NotRun(MISSING-WEIGHTS) naming every entry :func:`find` does not find here.

    A readiness check: nothing is hashed, so a file that is there but corrupt passes here and
    is refused (WeightsChecksumError) when :func:`require` reads it.
    """
    missing = [e for e in entries if find(e) is None]
    if missing:
        raise NotRun(NotRunCode.MISSING_WEIGHTS, missing_message(missing, label))


def _todo(entry: WeightsEntry) -> str:
    """What to do about a local file with the wrong bytes."""
    if entry.kind == "metric":
        return f"replace it with the official file ({entry.source})"
    return f"delete it and fetch the official file again ({fetch_advice(entry)})"


# ----------------------------------------------------------------------------- verification


@dataclasses.dataclass(frozen=True)
class WeightsFile:
    """A weight file ready to read, and how its bytes were checked."""

    path: Path
    sha256: str  # of the file at ``path`` ("" for a Hugging Face snapshot folder)
    verified: str  # "registry" | "name" | "lock" | "none"
    source_sha256: str | None = None  # of the official file it holds, where known
    origin: str = "local"  # "user" (--weights) | "converted" (the cache) | "local" (a folder)
    url: str = ""  # the hf:// address the user gave, when the file came from the Hub

    def provenance(self) -> dict:
        prov = {
            "path": str(self.path),
            "sha256": self.sha256,
            "verified": self.verified,
            "source_sha256": self.source_sha256,
            "origin": self.origin,
        }
        # only when given: the provenance of every other run (and its cache key) stays as it was
        return {**prov, "url": self.url} if self.url else prov


def verify(
    path: Path, entry: WeightsEntry, *, digest: str | None = None, todo: str | None = None
) -> str:
    """Check a file's sha256 against the entry or the weights lock; return the digest."""
    digest = digest or sha256_cached(path)
    sha, level, record = expected_sha256(entry)
    if sha is not None and not matches(digest, sha):
        raise mismatch(path, digest, sha, level, record, entry, todo or _todo(entry))
    return digest


def _vouched(record: dict | None, sha: str) -> str | None:
    """The converted file's sha256 the lock vouches for: recorded when ``repro pull`` converted
    a file whose sha256 is the expected ``sha``; None when the lock holds no such record."""
    if not record or not matches(record["sha256"].lower(), sha):
        return None
    return record.get("converted_sha256")


def verify_converted(
    path: Path, entry: WeightsEntry, *, todo: str | None = None
) -> WeightsFile | None:
    """A converted cache file, trusted only through the weights lock: its record must name the
    expected source sha256 and this file's own sha256 (else: changed since, refused).

    None when the lock holds no record of its conversion from the verified file: the caller
    converts it anew from the verified official file, or refuses it (:func:`unvouched`). What
    the file's own metadata says is never read: anyone can write it.
    """
    digest = sha256_cached(path)
    sha, level, record = expected_sha256(entry)
    if sha is None:  # nothing published or accepted: as unverified as any copy found here
        return WeightsFile(path, digest, VERIFIED_NONE, None, "converted")
    vouched = _vouched(record, sha)
    if vouched is None:
        return None
    if digest != vouched:
        raise _changed(
            entry,
            f"the converted file {path} has sha256 {digest}, but {vouched} when it was "
            f"written: it changed since; {todo or _todo(entry)}",
        )
    return WeightsFile(path, digest, level, record["sha256"].lower(), "converted")


def unvouched(path: Path, entry: WeightsEntry, todo: str | None = None) -> WeightsError:
    """The error for a converted file the weights lock does not vouch for."""
    return WeightsError(
        f"the converted file {path} is not recorded in the weights lock as converted from the "
        f"verified {entry.filename} (what a file says about itself is not trusted); "
        f"{todo or _todo(entry)}"
    )


def _changed(entry: WeightsEntry, why: str) -> WeightsChecksumError:
    return WeightsChecksumError(f"checksum mismatch for {entry.id}: {why}")


def check_file(path: Path, entry: WeightsEntry | None, *, origin: str = "local") -> WeightsFile:
    """Verify a local copy of the official file (a mismatch raises WeightsChecksumError).

    A user's own file (``origin="user"``, ``--weights PATH``) is never refused: it is "verified"
    only when it is byte-identical to the known official file or converted cache.
    """
    digest = sha256_cached(path)
    if entry is None:
        return WeightsFile(path, digest, VERIFIED_NONE, None, origin)
    sha, level, record = expected_sha256(entry)
    if origin == "user":
        if sha is not None and matches(digest, sha):
            return WeightsFile(path, digest, level, sha, origin)
        if sha is not None and _vouched(record, sha) == digest:
            return WeightsFile(path, digest, level, sha, origin)
        return WeightsFile(path, digest, VERIFIED_NONE, None, origin)
    verify(path, entry, digest=digest)
    return WeightsFile(path, digest, level, sha, origin)


# ----------------------------------------------------------------------------- resolving


def locate(entry: WeightsEntry | None, path: os.PathLike | str | None = None) -> WeightsFile:
    """A verified weight file: the user's ``path`` (``--weights``), else :func:`find`'s.

    ``path`` may be ``hf://owner/repo@<commit>/path``: that file, from the HF cache or the Hub,
    is then treated as the user's own file. A missing registry file raises MissingWeightsError
    saying how to get it; it is not downloaded.
    """
    if is_hf_url(path):
        got = check_file(hub_file(*parse_hf_url(str(path))), entry, origin="user")
        return dataclasses.replace(got, url=str(path))
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise WeightsError(f"weights file not found: {p}; check the --weights path")
        return check_file(p, entry, origin="user")
    if entry is None:
        raise MissingWeightsError("no checkpoint is registered here; pass --weights PATH")
    found = find(entry)
    if found is None:
        raise _not_here([entry])
    if entry.kind == "model" and found == converted_path(entry):
        got = verify_converted(found, entry)
        if got is not None:
            return got
        official = find_local(entry)  # the verified source instead (pull converts it anew)
        if official is None:
            raise unvouched(found, entry)
        if not entry.member:
            return check_file(official, entry)
        found = official
    if entry.member:  # the official archive, found in a weights folder: unpacked by pull
        raise MissingWeightsError(
            f"weights '{entry.id}' are inside the archive {found}: unpack them into the cache "
            f"with: repro pull {entry.id}"
        )
    if entry.cache == "hf":  # a snapshot folder: the HF cache checks its own files
        return WeightsFile(found, "", VERIFIED_NONE)
    return check_file(found, entry)


def require(entry: WeightsEntry) -> Path:
    """The verified path of ``entry``'s file; MissingWeightsError (what to put where, or which
    ``repro pull`` to run) when absent, WeightsChecksumError when its bytes are wrong."""
    return locate(entry).path


def require_all(entries: Sequence[WeightsEntry], label: str = "weights") -> list[Path]:
    """:func:`require` for several files, with one error naming every missing one."""
    missing = [e for e in entries if find(e) is None]
    if missing:
        raise _not_here(missing, label)
    return [require(e) for e in entries]


def _not_here(entries: Sequence[WeightsEntry], label: str = "weights") -> MissingWeightsError:
    """The error for missing files; it also names the folders searched for metric files."""
    looked = dict.fromkeys(str(d) for e in entries if e.kind == "metric" for d in search_dirs(e))
    where = f" (looked in {', '.join(looked)})" if looked else ""
    return MissingWeightsError(missing_message(entries, label) + where)
