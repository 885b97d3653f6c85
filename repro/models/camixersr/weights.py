"""The released CAMixerSR / CAMixerOSR checkpoints (icandle/CAMixerSR ``pretrained_models/``)."""

from __future__ import annotations

import functools
import os

from repro.models.camixersr.arch import build_camixersr
from repro.models.camixersr.osr import build_camixerosr
from repro.weights.entry import WeightsEntry

COMMIT = "d690b12bb2a0a185dc0049538b377d569f520497"
_RAW = f"https://github.com/icandle/CAMixerSR/raw/{COMMIT}/pretrained_models/"


def _entry(id_, path, filename=None, sha256=None, also=(), what="", sha256_source="", model=None):
    return WeightsEntry(
        id=id_,
        filename=filename or os.path.basename(path),
        urls=tuple(_RAW + p for p in (path, *also)),
        sha256=sha256,
        key="params_ema",
        source=f"icandle/CAMixerSR@{COMMIT[:7]} pretrained_models/{path}"
        + (f" ({what})" if what else ""),
        sha256_source=sha256_source,
        model=model,
    )


# sha256 of the official files where a source states it. The checkpoints are plain git blobs
# (not Git LFS) in the official repository, so no pointer file publishes their sha256; only
# CAMixerSR_S.pth is known (the shared copy, taken from the repository at COMMIT).


# File names that occur twice in the official folder (LightSR/ and ODISR/ both have
# CAMixerSRx2.pth and CAMixerSRx4.pth) keep their sub-folder; a copy saved under the bare name
# is told apart by its keys and shapes (WeightsEntry.model), so the two are never confused.
WEIGHTS: dict[str, WeightsEntry] = {
    e.id: e
    for e in (
        _entry(
            "camixersr-b-x2",
            "LightSR/CAMixerSRx2.pth",
            "LightSR/CAMixerSRx2.pth",
            what="lightweight SR x2, DIV2K",
            model=functools.partial(build_camixersr, "b", 2),
        ),
        _entry("camixersr-b-x3", "LightSR/CAMixerSRx3.pth", what="lightweight SR x3, DIV2K"),
        _entry(
            "camixersr-b-x4",
            "LightSR/CAMixerSRx4.pth",
            "CAMixerSR_B.pth",
            also=("LargeSR/CAMixerSR_B.pth",),
            what="lightweight SR x4, DIV2K; the same file as LargeSR/CAMixerSR_B.pth",
        ),
        _entry("camixersr-b-x2-df2k", "LightSR/CAMixerSRx2_DF.pth", what="lightweight SR x2, DF2K"),
        _entry("camixersr-b-x4-df2k", "LightSR/CAMixerSRx4_DF.pth", what="lightweight SR x4, DF2K"),
        _entry(
            "camixersr-s-x4",
            "LargeSR/CAMixerSR_S.pth",
            sha256="49ffcfbb59583b4512ed7f4290b6f480b4bac50afb3d1db1553687bbdeff3076",
            what="large-image SR x4, n_feats 36",
            sha256_source=(
                f"shared/weights/README.md: the file at icandle/CAMixerSR@{COMMIT[:7]} "
                "pretrained_models/LargeSR/CAMixerSR_S.pth"
            ),
        ),
        _entry("camixersr-m-x4", "LargeSR/CAMixerSR_M.pth", what="large-image SR x4, n_feats 48"),
        _entry(
            "camixersr-osr-x2",
            "ODISR/CAMixerSRx2.pth",
            "ODISR/CAMixerSRx2.pth",
            what="360-degree SR x2 (CAMixerOSR)",
            model=functools.partial(build_camixerosr, 2),
        ),
        _entry(
            "camixersr-osr-x4",
            "ODISR/CAMixerSRx4.pth",
            "ODISR/CAMixerSRx4.pth",
            what="360-degree SR x4 (CAMixerOSR)",
            model=functools.partial(build_camixerosr, 4),
        ),
    )
}


# The checkpoint each variant loads by default, per scale.
DEFAULTS: dict[str, dict[int, str]] = {
    "s": {4: "camixersr-s-x4"},
    "m": {4: "camixersr-m-x4"},
    "b": {2: "camixersr-b-x2", 3: "camixersr-b-x3", 4: "camixersr-b-x4"},
    "osr": {2: "camixersr-osr-x2", 4: "camixersr-osr-x4"},
}
