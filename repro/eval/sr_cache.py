"""SR outputs kept on disk, so that re-scoring them under other protocols needs no forward pass.

A set of outputs is keyed by a sha256 of everything that decides them: the source of the modules
the model and the evaluation run (:func:`repro.eval.code_key.job_code`), the model and its
settings, the weights' sha256 and state-dict key, the scale, the dataset and its layout, the LR
recipe, the seed, the tile and the kind of device. Each image's entry also records the sha256 of
the files it was made from and is reused only when they still match; a changed key is a new
folder, so a stale entry is never read.

Entries are ``cache/sr/<recipe>-<key>/<sha256 of the image name>.npz`` of the workspace (the uint8
output and a JSON header), written to a temporary file in that folder and renamed: nothing is
written outside it, and an unreadable or malformed entry only costs a recomputation. ``<recipe>``
hashes the identity without the code: when a new folder of a recipe is made, the folders of the
same recipe made by other code are removed (they would never be read again).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from repro.errors import NonFiniteOutputError
from repro.eval.cache import job_key
from repro.eval.predictor import refuse_non_finite
from repro.workspace import current


class SRCache:
    """The cached outputs of one (model, weights, scale, settings, dataset, LR recipe)."""

    def __init__(self, identity: dict, *, root: Path | None = None, enabled: bool = True) -> None:
        self.enabled = enabled
        self.root = root or current().sr_cache  # the workspace's cache/sr/
        self.key = job_key({"kind": "sr-outputs", **identity})
        recipe = {k: v for k, v in identity.items() if k != "code"}
        self.recipe = job_key({"kind": "sr-outputs", **recipe})[:16]
        self.folder = self.root / f"{self.recipe}-{self.key[:16]}"

    def _path(self, image: str):
        return self.folder / (hashlib.sha256(image.encode()).hexdigest()[:32] + ".npz")

    def get(self, image: str, files_sha256: dict[str, str]) -> np.ndarray | None:
        """The stored output of ``image``, or None (absent, unreadable, made from other files)."""
        if not self.enabled:
            return None
        try:
            with np.load(self._path(image), allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
                sr = z["sr"]
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return None
        ok = (
            isinstance(header, dict)
            and header.get("image") == image
            and header.get("files_sha256") == files_sha256
            and sr.dtype == np.uint8
            and sr.ndim == 3
        )
        return sr if ok else None

    def put(self, image: str, files_sha256: dict[str, str], sr: np.ndarray) -> None:
        if not self.enabled:
            return
        if not self.folder.is_dir():
            self._drop_stale()
            self.folder.mkdir(parents=True, exist_ok=True)
        header = json.dumps({"image": image, "files_sha256": files_sha256}, sort_keys=True)
        buf = io.BytesIO()
        np.savez(buf, sr=np.ascontiguousarray(sr), header=np.array(header))
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(buf.getvalue())
            os.replace(tmp, self._path(image))
        except BaseException:
            os.unlink(tmp)
            raise

    def _drop_stale(self) -> None:
        """Remove this recipe's outputs made by other code: their key can never match again."""
        for old in self.root.glob(f"{self.recipe}-*"):
            if old != self.folder and old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)


class CachedPredictor:
    """``predict`` through an :class:`SRCache`: counts forward passes and their time.

    ``lr`` is a callable, so that an LR made here (MATLAB bicubic) is only made when the output
    is not in the cache. The seed is set before each forward pass, as table runs do (CAMixerSR's
    official mode samples).
    """

    def __init__(
        self,
        predict: Callable[[np.ndarray], np.ndarray],
        module: torch.nn.Module,
        cache: SRCache,
        *,
        seed: int = 0,
    ) -> None:
        self.predict, self.module, self.cache, self.seed = predict, module, cache, seed
        self.computed = 0
        self.reused = 0
        self.seconds = 0.0

    def __call__(
        self, image: str, files_sha256: dict[str, str], lr: Callable[[], np.ndarray]
    ) -> np.ndarray:
        sr = self.cache.get(image, files_sha256)
        if sr is not None:
            self.reused += 1
            return sr
        start = time.perf_counter()
        low = lr()
        torch.manual_seed(self.seed)
        guard = self.module.register_forward_hook(refuse_non_finite)
        try:
            sr = self.predict(low)
        except NonFiniteOutputError as exc:
            raise NonFiniteOutputError(f"{image}: {exc}") from None
        finally:
            guard.remove()
        self.seconds += time.perf_counter() - start
        self.computed += 1
        self.cache.put(image, files_sha256, sr)
        return sr
