"""What the suite knows about one released checkpoint or metric weight file."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from repro.weights.hub import COMMIT

KINDS = ("model", "metric")
CACHES = ("", "torch", "hf")
# torch.hub names a download ``<name>-<first hex digits of its sha256>.<ext>`` and checks that
# prefix itself (torch.hub.HASH_REGEX); pyiqa and torchvision publish their files that way.
_NAME_HASH = re.compile(r"-([0-9a-f]{8,64})\.[^.]+$")


@dataclass(frozen=True)
class WeightsEntry:
    """One weight file: where it is published, where it may lie here, how to check and read it.

    ``kind="model"``: a model checkpoint. ``repro pull`` downloads it and converts its state dict
    to safetensors in the cache; a run may take the user's own file (``--weights PATH``); it lies
    in a weights folder or any release sub-folder of one.

    ``kind="metric"``: a file a metric reads as it is (LPIPS, NIQE, pyiqa networks), never
    downloaded by a run (``repro pull <metric>`` stores it as it is, in the cache, from the Hub
    or ``urls``); it lies in ``<weights folder>/<subdir>/``, the weights folder itself or the
    cache, and with ``cache="torch"`` also where pyiqa/torchvision keep their own downloads
    (torch's hub folder). ``cache="hf"``: a Hugging Face repository a backbone is built from
    (``filename`` is then the repository id), found as a snapshot in ``<weights folder>/hf/`` or
    the HF cache.
    """

    id: str  # e.g. "camixersr-s-x4", "lpips-alex-linear"
    filename: str  # the official file name, looked up in local weight folders
    urls: tuple[str, ...] = ()  # official download locations (tried in order)
    sha256: str | None = None  # of the official file, where known
    key: str | None = "params_ema"  # the state dict inside the checkpoint (None: top level)
    source: str = ""  # provenance in words: repo, commit, path (and what the file is)
    hub_repo: str | None = None  # Hugging Face repo id, where the file is on the Hub
    hub_revision: str | None = None  # pinned 40-hex commit of hub_repo (required with it)
    sha256_source: str = ""  # where the sha256 was published (repo@commit path, page), if known
    kind: str = "model"  # "model" | "metric" (see the class docstring)
    subdir: str = ""  # metric files: their sub-folder of a weights folder ("lpips", "pyiqa")
    cache: str = ""  # metric files: "torch" | "hf", a library cache that may hold them
    # A checkpoint published only inside a zip archive: the glob of its path in the archive
    # (``*`` spans folders; ``__MACOSX/`` is ignored). ``filename``, ``urls`` and ``sha256`` are
    # then the archive's; ``repro pull`` unpacks the one member that matches into the cache.
    member: str = ""
    size: int | None = None  # bytes of the official file, where known (shown before a download)
    # Builds the model a checkpoint is for. Only for a file name another release shares (the
    # filename then keeps its release folder, "LightSR/CAMixerSRx2.pth"): a copy saved under
    # the bare name is taken only when its keys and shapes are this model's.
    model: Callable[[], Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.cache not in CACHES:
            raise ValueError(
                f"weights entry {self.id}: kind {self.kind!r} / cache {self.cache!r}; "
                f"use kind in {KINDS} and cache in {CACHES}"
            )
        # A branch or tag moves; only a commit pins the bytes a verdict was measured with.
        if self.hub_revision is not None and not COMMIT.fullmatch(self.hub_revision):
            raise ValueError(
                f"weights entry {self.id}: hub_revision {self.hub_revision!r} is not a 40-hex "
                "commit; pin the Hub revision to a commit"
            )
        if (self.hub_repo is None) != (self.hub_revision is None):
            raise ValueError(
                f"weights entry {self.id}: give hub_repo and its pinned hub_revision together"
            )

    @classmethod
    def metric_file(
        cls,
        id: str,
        filename: str,
        source: str,
        *,
        subdir: str = "",
        cache: str = "",
        sha256: str | None = None,
        sha256_source: str = "",
        hub_repo: str | None = None,
        hub_revision: str | None = None,
        urls: tuple[str, ...] = (),
    ) -> WeightsEntry:
        """The entry of a file a metric reads as it is (``kind="metric"``, no state-dict key)."""
        return cls(
            id=id,
            filename=filename,
            urls=urls,
            sha256=sha256,
            hub_repo=hub_repo,
            hub_revision=hub_revision,
            key=None,
            source=source,
            sha256_source=sha256_source,
            kind="metric",
            subdir=subdir,
            cache=cache,
        )

    @property
    def known_sha256(self) -> str | None:
        """The sha256 the entry states: the full digest, else the prefix a torch.hub-style file
        name carries (files of the torch cache, e.g. ``vgg16-397923af.pth``); None if neither.
        """
        if self.sha256:
            return self.sha256.lower()
        match = _NAME_HASH.search(self.filename) if self.cache == "torch" else None
        return match.group(1) if match else None
