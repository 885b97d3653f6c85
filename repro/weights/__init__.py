"""Weight files of models and metrics: one catalogue entry type and one resolver.

- :mod:`~repro.weights.entry`: :class:`WeightsEntry`, what is known about one file;
- :mod:`~repro.weights.resolver`: find a file here (:func:`find`; :func:`check_found` for
  readiness), check its sha256 and get its path (:func:`require`, :func:`require_all`) or a
  model checkpoint with its provenance (:func:`locate`); the messages saying what to put where;
- :mod:`~repro.weights.lock`: the weights lock (checkpoints accepted without a published sha256);
- :mod:`~repro.weights.fetch`: ``repro pull`` (fetch, verify, store: checkpoints converted to
  safetensors, metric files as they are);
- :mod:`~repro.weights.hub`: ``hf://owner/repo@commit/path`` addresses, files from the HF cache;
- :mod:`~repro.weights.checkpoint`: read a state dict safely, load it strictly.

This package imports no torch (``fetch`` and ``checkpoint`` do: import them where needed).
"""

from repro.weights.entry import WeightsEntry
from repro.weights.resolver import (
    WeightsFile,
    check_found,
    converted_path,
    fetch_advice,
    find,
    find_local,
    locate,
    missing_message,
    placement,
    require,
    require_all,
)

__all__ = [
    "WeightsEntry",
    "WeightsFile",
    "check_found",
    "converted_path",
    "fetch_advice",
    "find",
    "find_local",
    "locate",
    "missing_message",
    "placement",
    "require",
    "require_all",
]
