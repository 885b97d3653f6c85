"""``repro pull``: fetch an official weight file, verify it, store it in the cache.

Sources, in order: the entry's Hub repository at its pinned commit (through the Hugging Face
cache, :mod:`repro.weights.hub`; offline the cache alone), then its ``urls``. A model checkpoint
is stored as safetensors, ``<cache>/weights/<entry id>.safetensors``, so later runs read
safetensors only, trusted through the weights lock record of its conversion (the source's and
its own sha256; its metadata is informative only); a metric file as it is (its library reads it
itself), ``<cache>/weights/<subdir>/<filename>`` (:func:`~repro.weights.resolver.pulled_path`).
A file whose sha256 is neither published nor accepted before is refused unless the user accepts
it (``pull(entry, trust=True)``), which records it in the weights lock
(:mod:`repro.weights.lock`). Nothing is left behind by a failed or refused fetch.
"""

from __future__ import annotations

import contextlib
import shutil
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from safetensors.torch import save_file

from repro.checksums import sha256_file
from repro.download import download
from repro.errors import DownloadError, MissingWeightsError, WeightsError
from repro.files import staged
from repro.paths import cache_dir
from repro.weights.checkpoint import read_state_dict
from repro.weights.entry import WeightsEntry
from repro.weights.hub import hf_url, hub_file, is_hf_url, offline
from repro.weights.lock import TRUST_FLAG, expected_sha256, matches, mismatch, record_lock
from repro.weights.member import unpacked_member
from repro.weights.resolver import (
    by_hand,
    check_file,
    converted_path,
    find_local,
    placement,
    pulled_path,
    verify,
    verify_converted,
)

# A download larger than this is aborted (the largest official checkpoint is ~100 MB).
MAX_DOWNLOAD_BYTES = 4 << 30
# Where github.com redirects the download of a release asset or a raw file.
GITHUB_HOSTS = (
    "objects.githubusercontent.com",
    "release-assets.githubusercontent.com",
    "raw.githubusercontent.com",
)


def redirect_hosts(entry: WeightsEntry) -> tuple[str, ...]:
    """The hosts a download of ``entry`` may be redirected to, beyond its URLs' own."""
    github = any(urllib.parse.urlsplit(u).hostname == "github.com" for u in entry.urls)
    return GITHUB_HOSTS if github else ()


def pull(entry: WeightsEntry, *, trust: bool = False) -> Path:
    """Fetch ``entry``'s official file unless it is here already; verify it; store it.

    A model checkpoint is converted to safetensors in the cache, a metric file copied there as it
    is. A file whose sha256 is neither published (registry) nor accepted before (lock) is refused
    unless ``trust=True``, which accepts it and records its sha256 in the weights lock. A known
    sha256 that does not match is refused whatever ``trust`` says.
    """
    if entry.kind == "metric":
        return _pull_metric_file(entry, trust)
    target = converted_path(entry)
    todo = f"delete it (then it is converted anew); {by_hand(entry)}"
    if target.is_file() and verify_converted(target, entry, todo=todo) is not None:
        return target
    # absent, or not vouched for by the lock: converted (anew) from the verified official file
    local = find_local(entry)
    if local is not None:
        return _accept(local, sha256_file(local), entry, str(local), trust=trust, downloaded=False)
    return _fetch(
        entry, lambda src, source: _accept(src, sha256_file(src), entry, source, trust=trust)
    )


def _pull_metric_file(entry: WeightsEntry, trust: bool) -> Path:
    found = find_local(entry)
    if found is not None:
        if entry.cache != "hf":  # a snapshot folder: the HF cache checks its own files
            check_file(found, entry)  # here but wrong: refused, never fetched over
        return found
    if entry.cache == "hf" or not (entry.urls or entry.hub_repo):
        raise MissingWeightsError(
            f"{entry.id} has no download source; put it in place by hand: {placement([entry])}"
        )
    return _fetch(entry, lambda src, source: _store(src, entry, source, trust=trust))


def _fetch(entry: WeightsEntry, accept: Callable[[Path, str], Path]) -> Path:
    """Try each source of ``entry``; ``accept(file, source)`` verifies and stores the first got.

    A refusal by ``accept`` (wrong or unaccepted sha256) ends the pull: no other source is tried.
    """
    errors = []
    if entry.hub_repo and entry.hub_revision:
        try:
            got = hub_file(entry.hub_repo, entry.hub_revision, entry.filename)
        except MissingWeightsError as exc:
            errors.append(str(exc))
        else:  # the HF cache's own file: read, never removed
            return accept(got, hf_url(entry.hub_repo, entry.hub_revision, entry.filename))
    if entry.urls and offline():
        errors.append("HF_HUB_OFFLINE is set")
    elif entry.urls:
        try:  # each URL in order; an HTTP error, a cut or a body over the limit: the next
            fetched = download(
                entry.urls,
                cache_dir() / "downloads",
                max_bytes=MAX_DOWNLOAD_BYTES,
                resume=False,
                hosts=redirect_hosts(entry),
            )
        except DownloadError as exc:
            errors.append(f"download failed: {exc}")
        else:
            try:
                return accept(fetched.path, fetched.url)
            finally:
                fetched.path.unlink(missing_ok=True)
    raise MissingWeightsError(_pull_failed(entry, "; ".join(errors) or "no direct download exists"))


def _pull_failed(entry: WeightsEntry, why: str) -> str:
    if entry.kind == "metric":
        return f"weights '{entry.id}' could not be fetched ({why}); {_by_hand_file(entry)}"
    return f"weights '{entry.id}' could not be downloaded ({why}); {by_hand(entry)}"


def _by_hand_file(entry: WeightsEntry) -> str:
    return f"put it in place by hand: {placement([entry])}"


def _bad_fetch(src: Path, source: str) -> tuple[str, str]:
    """How a mismatch message names a fetched file, and what it says to do first."""
    if is_hf_url(source):  # the HF cache keeps a bad file: say where, so it can be removed
        return (
            f"the file from {source} ({src})",
            "delete that copy from the Hugging Face cache, or ",
        )
    return f"the file from {source}", ""


def _refused(entry: WeightsEntry, source: str, digest: str) -> WeightsError:
    return WeightsError(
        f"refused {entry.id}: the sha256 of {entry.filename} is not published, so the "
        f"download from {source} (sha256 {digest}) cannot be verified and was not kept; if "
        f"you trust that source, accept it with: repro pull {entry.id} {TRUST_FLAG}"
    )


def _accept(
    src: Path,
    digest: str,
    entry: WeightsEntry,
    source: str,
    *,
    trust: bool,
    downloaded: bool = True,
) -> Path:
    """Verify a fetched (or local) official checkpoint, convert it, and record it in the lock."""
    sha, level, record = expected_sha256(entry)
    if sha is not None:
        if not matches(digest, sha):
            what, first = _bad_fetch(src, source) if downloaded else (str(src), "delete it; ")
            raise mismatch(what, digest, sha, level, record, entry, first + by_hand(entry))
        basis = level
    elif trust:
        basis = "trusted"
    elif downloaded:
        raise _refused(entry, source, digest)
    else:  # the user's own copy, no known hash: convert it, but it stays unverified
        return convert(src, entry, digest=digest, record=False)
    return convert(src, entry, digest=digest, record=True, source=source, basis=basis)


def _store(src: Path, entry: WeightsEntry, source: str, *, trust: bool) -> Path:
    """Copy a fetched metric file into the cache as it is, once its copy's sha256 is checked;
    an accepted unknown sha256 (``trust``) is recorded in the lock."""
    sha, level, record = expected_sha256(entry)
    target = pulled_path(entry)
    with staged(target) as tmp:  # a refusal below removes the copy: nothing is kept
        shutil.copyfile(src, tmp)
        digest = sha256_file(tmp)  # the bytes kept are the bytes checked
        if sha is not None and not matches(digest, sha):
            what, first = _bad_fetch(src, source)
            raise mismatch(what, digest, sha, level, record, entry, first + _by_hand_file(entry))
        if sha is None and not trust:
            raise _refused(entry, source, digest)
    if sha is None:
        try:
            record_lock(entry, sha256=digest, source=source, basis="trusted")
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return target


def _checkpoint_in(src: Path, entry: WeightsEntry) -> contextlib.AbstractContextManager[Path]:
    """The checkpoint file ``src`` is, or holds (an archive: ``entry.member``)."""
    if entry.member:
        return unpacked_member(src, entry.member, source=f"{entry.id} ({src.name})")
    return contextlib.nullcontext(src)


def convert(
    src: Path,
    entry: WeightsEntry,
    *,
    digest: str | None = None,
    record: bool | None = None,
    source: str | None = None,
    basis: str | None = None,
) -> Path:
    """Verify ``src`` and store its state dict as safetensors in the cache; return that path.

    With ``record`` (default: when the source's sha256 is known) the weights lock gets the
    source sha256 and the converted file's own sha256, so later loads can check both.
    """
    digest = verify(src, entry, digest=digest)
    if record is None:
        record = expected_sha256(entry)[0] is not None
    with _checkpoint_in(src, entry) as checkpoint:
        # the bytes verified are the bytes converted (an archive's member: unpacked from the
        # archive just verified)
        state = read_state_dict(checkpoint, entry.key, None if entry.member else digest)
    target = converted_path(entry)
    with staged(target) as tmp:
        save_file(
            {k: v.contiguous() for k, v in state.items()},
            str(tmp),
            metadata={"source_sha256": digest, "source_file": src.name, "key": str(entry.key)},
        )
        converted = sha256_file(tmp)
    if record:
        try:
            record_lock(
                entry,
                sha256=digest,
                source=source or str(src),
                basis=basis or expected_sha256(entry)[1],
                converted_sha256=converted,
            )
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return target
