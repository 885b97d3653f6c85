"""Weights: find, download, verify (sha256), read safely, load strictly, store as safetensors.

``.pth`` files are read with ``torch.load(weights_only=True)`` and never unpickled otherwise.
A converted copy is kept as ``<cache>/weights/<entry id>.safetensors`` with the source sha256 in
its metadata, so later runs read safetensors only.

Trust. An entry's ``sha256`` is the official file's, recorded where a public source states it
(``WeightsEntry.sha256_source``). A download whose sha256 is not published is refused unless the
user accepts it (``pull(entry, trust=True)``; ``python -m repro pull <id> --trust-unverified``).
Accepted files are recorded in the weights lock, ``<cache>/weights.lock.json`` (entry id ->
sha256 of the official file, where it came from, when, and the sha256 of the converted
safetensors), and every later load is checked against the registry or the lock: a local copy or
a converted cache file that changed raises ChecksumError. Files a user placed in a weights folder
with no known sha256 still load, and their provenance says ``"verified": "none"``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from repro.checksums import sha256_file
from repro.errors import ChecksumError, MissingWeightsError, WeightsError
from repro.files import atomic_write_text, staged
from repro.models.registry import WeightsEntry
from repro.paths import cache_dir, weights_dirs

# A download larger than this is aborted (the largest official checkpoint is ~100 MB).
MAX_DOWNLOAD_BYTES = 4 << 30
TRUST_FLAG = "--trust-unverified"
LOCK_VERSION = 1
# How a checkpoint's bytes were checked ("verified" in a run's provenance).
VERIFIED_REGISTRY = "registry"  # sha256 published by the source named in the registry entry
VERIFIED_LOCK = "lock"  # sha256 the user accepted with --trust-unverified (weights.lock.json)
VERIFIED_NONE = "none"  # nothing to compare with: the user's own file


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def converted_path(entry: WeightsEntry) -> Path:
    return cache_dir() / "weights" / f"{entry.id}.safetensors"


# ----------------------------------------------------------------------------- the weights lock


def lock_path() -> Path:
    return cache_dir() / "weights.lock.json"


def read_lock() -> dict[str, dict]:
    """The weights lock's records by entry id (empty when there is no lock file)."""
    path = lock_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["entries"]
        if not isinstance(entries, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in entries.values()
        ):
            raise ValueError("'entries' is not a mapping of id -> {sha256, ...}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(
            f"cannot read the weights lock {path} ({exc}); repair it, or delete it (checkpoints "
            "accepted without a published sha256 must then be accepted again)"
        ) from None
    return entries


def _record_lock(entry: WeightsEntry, **fields) -> None:
    """Write (atomically) the lock record of ``entry``: sha256, source, date, basis, ..."""
    entries = read_lock()
    entries[entry.id] = {
        "filename": entry.filename,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **fields,
    }
    text = json.dumps({"version": LOCK_VERSION, "entries": entries}, indent=2, sort_keys=True)
    atomic_write_text(lock_path(), text + "\n")


def expected_sha256(entry: WeightsEntry) -> tuple[str | None, str, dict | None]:
    """The sha256 the official file must have, how it is known, and the entry's lock record.

    The registry wins over the lock; with neither, ``(None, "none", None)``.
    """
    record = read_lock().get(entry.id)
    if entry.sha256:
        return entry.sha256.lower(), VERIFIED_REGISTRY, record
    if record is not None:
        return record["sha256"].lower(), VERIFIED_LOCK, record
    return None, VERIFIED_NONE, None


# ----------------------------------------------------------------------------- finding files


def find_local(entry: WeightsEntry) -> Path | None:
    """The official file in a local weights folder (``REPRO_WEIGHTS``, shared/weights).

    Entries whose official name repeats in another release folder (CAMixerSR's LightSR/ and
    ODISR/ both hold CAMixerSRx2.pth) are named with that folder. A file found under the bare
    name is taken only if its keys and shapes are those of the entry's model, so the two are
    never confused.
    """
    exact = next(_candidates(entry.filename), None)
    if exact is not None:
        return exact
    bare = Path(entry.filename).name
    if bare == entry.filename:
        return None
    return next((c for c in _candidates(bare) if _fits(c, entry)), None)


def _candidates(name: str):
    for root in weights_dirs():
        if not root.is_dir():
            continue
        if (root / name).is_file():
            yield root / name
        yield from sorted(p for p in root.glob(f"*/{name}") if p.is_file())


def _fits(path: Path, entry: WeightsEntry) -> bool:
    """Does the checkpoint at ``path`` have exactly the key names and shapes of entry's model?"""
    from repro.models.registry import all_models

    for info in all_models().values():
        for scale, candidate in info.weights.items():
            if candidate.id != entry.id:
                continue
            with torch.device("meta"):  # shapes only: nothing is allocated
                model = info.build(scale=scale)
            expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
            try:
                state = read_state_dict(path, entry.key)
            except WeightsError:
                return False
            return {k: tuple(v.shape) for k, v in state.items()} == expected
    return False


# ----------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class WeightsFile:
    """A checkpoint ready to read, and how its bytes were checked."""

    path: Path
    sha256: str  # of the file at ``path``
    verified: str  # "registry" | "lock" | "none"
    source_sha256: str | None = None  # of the official file it holds, where known
    origin: str = "local"  # "user" (--weights) | "converted" (the cache) | "local" (a folder)

    def provenance(self) -> dict:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "verified": self.verified,
            "source_sha256": self.source_sha256,
            "origin": self.origin,
        }


def _where(entry: WeightsEntry) -> str:
    return entry.urls[0] if entry.urls else (entry.source or "the official release")


def _by_hand(entry: WeightsEntry) -> str:
    where = _where(entry)
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
        return f"no direct download exists: {_by_hand(entry)}"
    pull_cmd = f"python -m repro pull {entry.id}"
    sha, _, _ = expected_sha256(entry)
    if sha is None:
        pull_cmd += f" (its sha256 is not published: pull asks you to add {TRUST_FLAG})"
    return f"get it with: {pull_cmd}; or {_by_hand(entry)}"


def _mismatch(path, digest: str, sha: str, level: str, record, entry: WeightsEntry, todo: str):
    if level == VERIFIED_LOCK:
        why = (
            f"expected {sha}, which you accepted on {record.get('date', '?')} from "
            f"{record.get('source', '?')}: the file changed since"
        )
    else:
        published = entry.sha256_source or entry.source or "the registry"
        why = f"expected {sha} (published in {published}): it is corrupt or another checkpoint"
    return ChecksumError(
        f"checksum mismatch for {entry.id}: {path} has sha256 {digest}, {why}; {todo}"
    )


def verify(
    path: Path, entry: WeightsEntry, *, digest: str | None = None, todo: str | None = None
) -> str:
    """Check a file's sha256 against the registry or the weights lock; return the digest."""
    digest = digest or sha256_file(path)
    sha, level, record = expected_sha256(entry)
    if sha is not None and digest != sha:
        raise _mismatch(
            path,
            digest,
            sha,
            level,
            record,
            entry,
            todo or f"delete it and fetch the official file again ({fetch_advice(entry)})",
        )
    return digest


def _metadata(path: Path) -> dict:
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as exc:
        raise WeightsError(
            f"cannot read the converted checkpoint {path} ({exc}); delete it and fetch it again"
        ) from None


def verify_converted(path: Path, entry: WeightsEntry, *, todo: str | None = None) -> WeightsFile:
    """Check a converted cache file: the source sha256 in its metadata against the registry or
    lock, and its own sha256 against the one the lock recorded when it was written."""
    digest = sha256_file(path)
    source_sha = _metadata(path).get("source_sha256")
    sha, level, record = expected_sha256(entry)
    todo = todo or f"delete it and fetch the official file again ({fetch_advice(entry)})"
    if sha is not None and source_sha != sha:
        raise ChecksumError(
            f"checksum mismatch for {entry.id}: the converted file {path} was made from a file "
            f"with sha256 {source_sha or 'unknown'}, expected {sha} ({level}); {todo}"
        )
    recorded = (record or {}).get("converted_sha256")
    if recorded and digest != recorded:
        raise ChecksumError(
            f"checksum mismatch for {entry.id}: the converted file {path} has sha256 {digest}, "
            f"but {recorded} when it was written: it changed since; {todo}"
        )
    verified = level if sha is not None and recorded == digest else VERIFIED_NONE
    return WeightsFile(path, digest, verified, source_sha, "converted")


def check_file(path: Path, entry: WeightsEntry | None, *, origin: str = "local") -> WeightsFile:
    """Verify a local copy of the official file (a mismatch raises ChecksumError).

    A user's own file (``origin="user"``, ``--weights PATH``) is never refused: it is "verified"
    only when it is byte-identical to the known official file or converted cache.
    """
    digest = sha256_file(path)
    if entry is None:
        return WeightsFile(path, digest, VERIFIED_NONE, None, origin)
    sha, level, record = expected_sha256(entry)
    if origin == "user":
        if sha is not None and digest == sha:
            return WeightsFile(path, digest, level, sha, origin)
        if sha is not None and (record or {}).get("converted_sha256") == digest:
            return WeightsFile(path, digest, level, sha, origin)
        return WeightsFile(path, digest, VERIFIED_NONE, None, origin)
    verify(path, entry, digest=digest)
    return WeightsFile(path, digest, level, sha, origin)


def locate(
    entry: WeightsEntry | None,
    path: os.PathLike | str | None = None,
    *,
    download: bool = False,
    trust: bool = False,
) -> WeightsFile:
    """A verified checkpoint: a user path, the converted cache, a local copy, or a pull.

    Downloads happen only with ``download=True``; otherwise a missing checkpoint raises
    MissingWeightsError saying how to get it.
    """
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise WeightsError(f"weights file not found: {p}; check the --weights path")
        return check_file(p, entry, origin="user")
    if entry is None:
        raise MissingWeightsError("no checkpoint is registered here; pass --weights PATH")
    cached = converted_path(entry)
    if cached.is_file():
        return verify_converted(cached, entry)
    local = find_local(entry)
    if local is not None:
        return check_file(local, entry)
    if not download:
        raise MissingWeightsError(
            f"weights '{entry.id}' not available (not downloaded yet); {fetch_advice(entry)}"
        )
    return verify_converted(pull(entry, trust=trust), entry)


def resolve(
    entry: WeightsEntry,
    path: os.PathLike | str | None = None,
    *,
    download: bool = False,
    trust: bool = False,
) -> Path:
    """The path of :func:`locate`'s verified checkpoint."""
    return locate(entry, path, download=download, trust=trust).path


# ----------------------------------------------------------------------------- pull


def pull(entry: WeightsEntry, *, trust: bool = False) -> Path:
    """Download the official checkpoint, verify it, convert it to safetensors in the cache.

    A file whose sha256 is neither published (registry) nor accepted before (lock) is refused
    unless ``trust=True``, which accepts it and records its sha256 in the weights lock. A known
    sha256 that does not match is refused whatever ``trust`` says. Nothing is left behind by a
    failed or refused download.
    """
    target = converted_path(entry)
    if target.is_file():
        verify_converted(
            target, entry, todo=f"delete it (then it is converted anew); {_by_hand(entry)}"
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
    return f"weights '{entry.id}' could not be downloaded ({why}); {_by_hand(entry)}"


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
        if digest != sha:
            what = f"the file from {source}" if downloaded else str(src)
            todo = _by_hand(entry) if downloaded else f"delete it; {_by_hand(entry)}"
            raise _mismatch(what, digest, sha, level, record, entry, todo)
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
            _record_lock(
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


def read_state_dict(
    path: os.PathLike | str, key: str | None = "params_ema"
) -> dict[str, torch.Tensor]:
    """Read a state dict from safetensors or a ``.pth`` (safely), selecting ``key`` if nested."""
    path = Path(path)
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except Exception as exc:
            raise WeightsError(
                f"cannot read safetensors file {path} ({exc}); re-fetch it"
            ) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(
            f"cannot read checkpoint {path} safely ({type(exc).__name__}); it is corrupt or not "
            "a PyTorch state dict: re-download the official file"
        ) from None
    if isinstance(obj, dict) and key is not None and key in obj:
        obj = obj[key]
    elif (
        isinstance(obj, dict) and key is not None and any(isinstance(v, dict) for v in obj.values())
    ):
        raise WeightsError(
            f"checkpoint {path} has no '{key}' entry (it has {sorted(obj)}); "
            "choose one with --weights-key NAME (python -m repro eval)"
        )
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"checkpoint {path} does not hold a state dict of tensors")
    return obj


def load_strict(
    model: nn.Module, state: dict[str, torch.Tensor], source: str = "checkpoint"
) -> None:
    """Load ``state`` into ``model``; refuse on the first missing, unexpected or mis-shaped key,
    and a checkpoint holding NaN/inf (a corrupt or diverged training state)."""
    own = model.state_dict()
    for k, v in own.items():
        if k not in state:
            raise WeightsError(
                f"{source} does not fit the model: missing key '{k}' (shape {tuple(v.shape)}); "
                "is it a checkpoint of another model, variant or scale?"
            )
        if tuple(state[k].shape) != tuple(v.shape):
            raise WeightsError(
                f"{source} does not fit the model: '{k}' has shape {tuple(state[k].shape)}, the "
                f"model expects {tuple(v.shape)}; is it a checkpoint of another variant or scale?"
            )
    for k in state:
        if k not in own:
            raise WeightsError(
                f"{source} does not fit the model: unexpected key '{k}'; is it a checkpoint of "
                "another model or variant?"
            )
    for k, v in state.items():
        if v.is_floating_point() and not v.is_meta and not bool(torch.isfinite(v).all()):
            raise WeightsError(
                f"{source} holds non-finite values (NaN/inf) in '{k}': a corrupt or diverged "
                "checkpoint, whose outputs would be meaningless; use another checkpoint"
            )
    model.load_state_dict(state, strict=True)
