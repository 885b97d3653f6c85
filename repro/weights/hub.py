"""Weight files on the Hugging Face Hub, pinned to a commit: ``hf://owner/repo@<commit>/path``.

:func:`parse_hf_url` is the one parser of such addresses; :func:`hub_file` gets one file through
``huggingface_hub.hf_hub_download`` into the Hugging Face cache (or finds it there: a file of a
pinned commit is read from the cache without any request). ``HF_HUB_OFFLINE`` is honoured: offline
only the cache is consulted. Both read the environment when called, not when huggingface_hub was
imported (its constants are fixed then), so ``HF_HUB_CACHE``/``HF_HOME`` set later still count.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from repro.errors import MissingWeightsError, WeightsError
from repro.paths import hf_cache_dirs

HF_SCHEME = "hf://"
COMMIT = re.compile(r"[0-9a-f]{40}")
_REPO = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
# Seconds the Hub may take to answer the metadata request of a download.
HUB_TIMEOUT = 10.0
_PIN = "pin a commit: hf://owner/repo@<40-hex commit>/path/in/repo"


def is_hf_url(path: object) -> bool:
    return isinstance(path, str) and path.startswith(HF_SCHEME)


def hf_url(repo: str, revision: str, path: str) -> str:
    return f"{HF_SCHEME}{repo}@{revision}/{path}"


def hub_page(repo: str, revision: str, path: str) -> str:
    """The file's page on the Hub (for messages saying where to download it by hand)."""
    return f"https://huggingface.co/{repo}/blob/{revision}/{path}"


def parse_hf_url(url: str) -> tuple[str, str, str]:
    """``hf://owner/repo@revision/path/in/repo`` -> ``(repo, revision, path)``.

    The revision must be a full 40-hex commit (a branch or tag moves, so the bytes a result was
    measured with could not be told); WeightsError saying what to write otherwise.
    """
    if not is_hf_url(url):
        raise WeightsError(f"{url} is not an hf:// address; write hf://owner/repo@<commit>/path")
    owner, _, rest = url[len(HF_SCHEME) :].partition("/")
    name, _, path = rest.partition("/")
    if owner in ("datasets", "spaces"):
        raise WeightsError(f"{url}: only model repositories hold weights here; {_PIN}")
    repo, at, revision = f"{owner}/{name}".partition("@")
    if not at:
        raise WeightsError(f"{url} names no revision; {_PIN}")
    if not _REPO.fullmatch(repo):
        raise WeightsError(f"{url}: '{repo}' is not a repository id (owner/name); {_PIN}")
    if not COMMIT.fullmatch(revision):
        raise WeightsError(
            f"{url}: revision '{revision}' is not a 40-hex commit (a branch, tag or short hash "
            f"can move or be ambiguous); {_PIN}"
        )
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") for p in parts):
        raise WeightsError(f"{url}: '{path}' is not a file path in the repository; {_PIN}")
    return repo, revision, path


def offline() -> bool:
    """``HF_HUB_OFFLINE`` as set now: no download from the Hub or any other server."""
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def _cache() -> str | None:
    """The HF cache huggingface_hub would use, from the environment of now; None: its default."""
    if os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME"):
        return str(hf_cache_dirs()[0])
    return None


def hub_file(repo: str, revision: str, path: str) -> Path:
    """The local path of ``path`` of ``repo`` at commit ``revision``, from the HF cache or
    downloaded into it; MissingWeightsError (one line: why, what to do) when it cannot be had.

    The file is not checked here: the caller verifies it like any local file.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    url = hf_url(repo, revision, path)
    try:
        return Path(
            hf_hub_download(
                repo,
                path,
                revision=revision,
                cache_dir=_cache(),
                local_files_only=offline(),
                etag_timeout=HUB_TIMEOUT,
            )
        )
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if offline() else "the Hub is unreachable"
        raise MissingWeightsError(
            f"{url} is not in the Hugging Face cache and {why}; connect (unset HF_HUB_OFFLINE) "
            "or put the file in the cache"
        ) from None
    except EntryNotFoundError:
        raise MissingWeightsError(
            f"{url}: the repository has no file '{path}' at that commit; check the path"
        ) from None
    except Exception as exc:  # unknown repository or revision, gated, network, disk
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise MissingWeightsError(
            f"cannot get {url} from the Hub ({type(exc).__name__}: {first}); check the address, "
            "or connect"
        ) from None
