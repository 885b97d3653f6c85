"""``repro pull``: download an official checkpoint, verify it, store it as safetensors.

The converted copy is ``<cache>/weights/<entry id>.safetensors`` with the source sha256 in its
metadata, so later runs read safetensors only. A download whose sha256 is neither published nor
accepted before is refused unless the user accepts it (``pull(entry, trust=True)``), which
records it in the weights lock (:mod:`repro.weights.lock`). Nothing is left behind by a failed
or refused download.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from safetensors.torch import save_file

from repro.checksums import sha256_file
from repro.errors import MissingWeightsError, WeightsError
from repro.files import staged
from repro.paths import cache_dir
from repro.weights.checkpoint import read_state_dict
from repro.weights.entry import WeightsEntry
from repro.weights.lock import TRUST_FLAG, expected_sha256, matches, mismatch, record_lock
from repro.weights.resolver import (
    by_hand,
    converted_path,
    find_local,
    verify,
    verify_converted,
)

# A download larger than this is aborted (the largest official checkpoint is ~100 MB).
MAX_DOWNLOAD_BYTES = 4 << 30


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def pull(entry: WeightsEntry, *, trust: bool = False) -> Path:
    """Download the official checkpoint, verify it, convert it to safetensors in the cache.

    A file whose sha256 is neither published (registry) nor accepted before (lock) is refused
    unless ``trust=True``, which accepts it and records its sha256 in the weights lock. A known
    sha256 that does not match is refused whatever ``trust`` says.
    """
    target = converted_path(entry)
    if target.is_file():
        verify_converted(
            target, entry, todo=f"delete it (then it is converted anew); {by_hand(entry)}"
        )
        return target
    local = find_local(entry)
    if local is not None:
        return _accept(local, sha256_file(local), entry, str(local), trust=trust, downloaded=False)
    if entry.hub_repo:
        return _pull_hub(entry, trust)
    if not entry.urls:
        raise MissingWeightsError(_pull_failed(entry, "no direct download exists"))
    if offline():
        raise MissingWeightsError(_pull_failed(entry, "HF_HUB_OFFLINE is set"))
    errors = []
    for url in entry.urls:
        try:
            part, digest = _download(url)
        except (OSError, ValueError, WeightsError) as exc:  # HTTP error, cut, too large: next
            errors.append(f"{url}: {exc}")
            continue
        try:
            return _accept(part, digest, entry, url, trust=trust)
        finally:
            part.unlink(missing_ok=True)
    raise MissingWeightsError(_pull_failed(entry, "download failed: " + "; ".join(errors)))


def _pull_failed(entry: WeightsEntry, why: str) -> str:
    return f"weights '{entry.id}' could not be downloaded ({why}); {by_hand(entry)}"


def _accept(
    src: Path,
    digest: str,
    entry: WeightsEntry,
    source: str,
    *,
    trust: bool,
    downloaded: bool = True,
) -> Path:
    """Verify a fetched (or local) official file, convert it, and record it in the lock."""
    sha, level, record = expected_sha256(entry)
    if sha is not None:
        if not matches(digest, sha):
            what = f"the file from {source}" if downloaded else str(src)
            todo = by_hand(entry) if downloaded else f"delete it; {by_hand(entry)}"
            raise mismatch(what, digest, sha, level, record, entry, todo)
        basis = level
    elif trust:
        basis = "trusted"
    elif downloaded:
        raise WeightsError(
            f"refused {entry.id}: the sha256 of {entry.filename} is not published, so the "
            f"download from {source} (sha256 {digest}) cannot be verified and was not kept; if "
            f"you trust that source, accept it with: python -m repro pull {entry.id} {TRUST_FLAG}"
        )
    else:  # the user's own copy, no known hash: convert it, but it stays unverified
        return convert(src, entry, digest=digest, record=False)
    return convert(src, entry, digest=digest, record=True, source=source, basis=basis)


def _pull_hub(entry: WeightsEntry, trust: bool) -> Path:
    from huggingface_hub import hf_hub_download

    where = cache_dir() / "downloads"
    where.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(dir=where, prefix=".part-hub-"))
    try:
        try:
            got = Path(
                hf_hub_download(
                    entry.hub_repo, entry.filename, revision=entry.hub_revision, local_dir=tmpdir
                )
            )
        except Exception as exc:  # offline, missing revision, network
            raise MissingWeightsError(_pull_failed(entry, f"Hub download failed: {exc}")) from None
        source = f"hf://{entry.hub_repo}@{entry.hub_revision or 'main'}/{entry.filename}"
        return _accept(got, sha256_file(got), entry, source, trust=trust)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _download(url: str) -> tuple[Path, str]:
    """Fetch ``url`` into ``<cache>/downloads/.part-*``; return the file and its sha256.

    At most MAX_DOWNLOAD_BYTES are accepted, a body shorter than its Content-Length is an error,
    and the partial file is removed on any failure (including KeyboardInterrupt).
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise WeightsError(f"not an http(s) URL: {url}")
    limit = MAX_DOWNLOAD_BYTES
    dst_dir = cache_dir() / "downloads"
    dst_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dst_dir, prefix=".part-")
    tmp = Path(name)
    digest = hashlib.sha256()
    total = 0
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=60) as r:
            header = r.headers.get("Content-Length")
            length = int(header) if header and header.strip().isdigit() else None
            if length is not None and length > limit:
                raise WeightsError(f"the server announces {length} bytes, over the {limit} limit")
            while block := r.read(1 << 20):
                total += len(block)
                if total > limit:
                    raise WeightsError(f"the body exceeds the {limit}-byte limit")
                digest.update(block)
                f.write(block)
            if length is not None and total != length:
                raise WeightsError(f"the connection closed after {total} of {length} bytes")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest.hexdigest()


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
    state = read_state_dict(src, entry.key)
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
