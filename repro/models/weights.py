"""Weights: find, download, verify (sha256), read safely, load strictly, store as safetensors.

``.pth`` files are read with ``torch.load(weights_only=True)`` and never unpickled otherwise.
A converted copy is kept as ``<cache>/weights/<entry id>.safetensors`` with the source sha256 in
its metadata, so later runs read safetensors only.
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

from repro.checksums import sha256_file
from repro.errors import ChecksumError, MissingWeightsError, WeightsError
from repro.models.registry import WeightsEntry
from repro.paths import cache_dir, weights_dirs


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def converted_path(entry: WeightsEntry) -> Path:
    return cache_dir() / "weights" / f"{entry.id}.safetensors"


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


def verify(path: Path, entry: WeightsEntry) -> str:
    """Check a file's sha256 against the registry; return the digest."""
    digest = sha256_file(path)
    if entry.sha256 and digest != entry.sha256:
        raise ChecksumError(
            f"checksum mismatch for {path}: sha256 {digest[:12]}..., expected "
            f"{entry.sha256[:12]}... ({entry.id}); the file is corrupt or a different checkpoint: "
            "delete it and fetch it again (python -m repro pull)"
        )
    return digest


def resolve(
    entry: WeightsEntry, path: os.PathLike | str | None = None, *, download: bool = False
) -> Path:
    """Return a readable checkpoint: a user path, the converted cache, a local copy, or a pull.

    Downloads happen only with ``download=True`` (``python -m repro pull``); otherwise a missing
    checkpoint raises MissingWeightsError saying how to get it.
    """
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise WeightsError(f"weights file not found: {p}; check the --weights path")
        return p
    cached = converted_path(entry)
    if cached.is_file():
        return cached
    local = find_local(entry)
    if local is not None:
        return local
    if not download:
        raise MissingWeightsError(_missing_message(entry, "not downloaded yet"))
    return pull(entry)


def pull(entry: WeightsEntry) -> Path:
    """Download the official checkpoint, verify it, convert to safetensors in the cache."""
    target = converted_path(entry)
    if target.is_file():
        return target
    local = find_local(entry)
    if local is not None:
        return convert(local, entry)
    if entry.hub_repo:
        from huggingface_hub import hf_hub_download

        try:
            downloaded = Path(
                hf_hub_download(entry.hub_repo, entry.filename, revision=entry.hub_revision)
            )
        except Exception as exc:  # offline, missing revision, network
            raise MissingWeightsError(
                _missing_message(entry, f"Hub download failed: {exc}")
            ) from None
        return convert(downloaded, entry)
    if not entry.urls:
        raise MissingWeightsError(_missing_message(entry, "no download location is known"))
    if offline():
        raise MissingWeightsError(_missing_message(entry, "HF_HUB_OFFLINE is set"))
    errors = []
    for url in entry.urls:
        try:
            return convert(_download(url), entry)
        except ChecksumError:
            raise
        except Exception as exc:  # try the next mirror
            errors.append(f"{url}: {exc}")
    raise MissingWeightsError(_missing_message(entry, "download failed: " + "; ".join(errors)))


def _missing_message(entry: WeightsEntry, why: str) -> str:
    where = entry.source or (entry.urls[0] if entry.urls else "the official release")
    fetch = (
        "or run: python -m repro pull " + entry.id
        if entry.urls or entry.hub_repo
        else "(no direct download exists: fetch it by hand)"
    )
    return (
        f"weights '{entry.id}' not available ({why}); download {entry.filename} from {where} "
        f"and put it in REPRO_WEIGHTS (or pass --weights PATH) {fetch}"
    )


def _download(url: str) -> Path:
    dst_dir = cache_dir() / "downloads"
    dst_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst_dir, prefix=".part-")
    os.close(fd)
    with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
        while block := r.read(1 << 20):
            f.write(block)
    return Path(tmp)


def convert(src: Path, entry: WeightsEntry) -> Path:
    """Verify ``src`` and store its state dict as safetensors in the cache; return that path."""
    digest = verify(src, entry)
    state = read_state_dict(src, entry.key)
    target = converted_path(entry)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".safetensors")
    os.close(fd)
    try:
        save_file(
            {k: v.contiguous() for k, v in state.items()},
            tmp,
            metadata={"source_sha256": digest, "source_file": src.name, "key": str(entry.key)},
        )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
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
            "choose one with --set weights_key=NAME"
        )
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"checkpoint {path} does not hold a state dict of tensors")
    return obj


def load_strict(
    model: nn.Module, state: dict[str, torch.Tensor], source: str = "checkpoint"
) -> None:
    """Load ``state`` into ``model``; refuse on the first missing, unexpected or mis-shaped key."""
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
    model.load_state_dict(state, strict=True)
