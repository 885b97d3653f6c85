"""What the suite knows about one released checkpoint or metric weight file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WeightsEntry:
    """One released checkpoint: where it is published and how to read it."""

    id: str  # e.g. "camixersr-s-x4"
    filename: str  # the official file name, looked up in local weight folders
    urls: tuple[str, ...] = ()  # official download locations (tried in order)
    sha256: str | None = None  # of the official file, where known
    key: str | None = "params_ema"  # the state dict inside the checkpoint (None: top level)
    source: str = ""  # provenance in words: repo, commit, path
    hub_repo: str | None = None  # Hugging Face repo id, where the weights are on the Hub
    hub_revision: str | None = None  # pinned 40-hex commit of hub_repo
    sha256_source: str = ""  # where the sha256 was published (repo@commit path, page), if known
