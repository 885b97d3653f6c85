"""Make pyiqa read its weight files locally and never download anything.

pyiqa fetches a metric's file with ``torch.hub.download_url_to_file`` into
``pyiqa.utils.download_util.DEFAULT_CACHE_DIR`` (``$TORCH_HOME/hub/pyiqa``, fixed when pyiqa is
imported) unless a file of that name is already there, and checks nothing. So:

- :func:`stage` links the verified local files (:func:`repro.weights.require`) into a private
  folder ``<REPRO_CACHE>/pyiqa_hub/pyiqa/``;
- :func:`offline_hub`, while a metric is created, points pyiqa's download folder there, makes
  every torch.hub download raise :class:`~repro.errors.MissingWeightsError` (a file pyiqa wants
  that is not registered is an error, never a request), puts huggingface_hub in offline mode, and
  builds timm backbones without their pretrained weights. The last is what lets MANIQA run
  without a timm snapshot: pyiqa asks timm for ``vit_base_patch8_224`` with ``pretrained=True``
  (an HF Hub download) and then loads MANIQA's own checkpoint over the whole network, backbone
  included, with ``strict=True``; a checkpoint that lacked its backbone would fail that load
  loudly instead of scoring with random weights.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from unittest import mock

from repro.errors import MissingWeightsError
from repro.paths import cache_dir
from repro.weights import WeightsEntry, require


def stage(weights: Sequence[WeightsEntry]) -> Path:
    """A private pyiqa cache folder with links to the verified local ``weights``."""
    folder = cache_dir() / "pyiqa_hub"
    for entry in weights:
        src = require(entry).resolve()
        dst = folder / "pyiqa" / entry.filename
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.is_symlink() or dst.exists():
            if dst.resolve() == src:
                continue
            dst.unlink()
        try:
            dst.symlink_to(src)
        except OSError:  # file systems without symlinks
            shutil.copyfile(src, dst)
    return folder


def _refuse_download(url: str, dst: str, *args, **kwargs) -> None:
    raise MissingWeightsError(
        f"pyiqa asked to download {url}, a file this suite does not register; nothing is "
        "downloaded: report it, or put the file in pyiqa's cache ($TORCH_HOME/hub/pyiqa/)"
    )


def _without_pretrained(create):
    """timm.create_model that never fetches pretrained weights (see the module docstring)."""

    @functools.wraps(create)
    def build(model_name: str, pretrained: bool = False, *args, **kwargs):
        return create(model_name, False, *args, **kwargs)

    return build


@contextlib.contextmanager
def offline_hub(folder: Path) -> Iterator[None]:
    """pyiqa's download folder at ``folder/pyiqa``; no download of any kind meanwhile."""
    import huggingface_hub.constants
    import timm
    import torch.hub

    dl = importlib.import_module("pyiqa.utils.download_util")
    patches = (
        mock.patch.object(dl, "DEFAULT_CACHE_DIR", str(folder / "pyiqa")),
        mock.patch.object(dl, "download_url_to_file", _refuse_download),
        mock.patch.object(torch.hub, "download_url_to_file", _refuse_download),
        # huggingface_hub reads HF_HUB_OFFLINE once, at import: set the value it reads
        mock.patch.object(huggingface_hub.constants, "HF_HUB_OFFLINE", True),
        mock.patch.object(timm, "create_model", _without_pretrained(timm.create_model)),
    )
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        yield
