"""What the gap explainer varies: the base setup of a cell and its one-change variants.

A :class:`Setup` holds the facts beyond the model that decide a cell's number: how LR is made
(official files, or MATLAB ``imresize`` with its rounding and boundary), which state dict of
the checkpoint is loaded, and how SR is scored (channel, crop, gray images, SSIM kind).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from repro.data.dataset import LR_MODES, Dataset
from repro.data.imresize import BOUNDARY_MODES, ROUNDING_MODES, imresize_uint8
from repro.errors import ReproError, UnknownNameError, did_you_mean
from repro.eval.scoring import STEREO_VARIANTS
from repro.metrics import get_metric
from repro.metrics.fidelity import GRAY_POLICIES, SSIM_KINDS
from repro.tables.spec import Column

# the other side of each two-way choice
FLIP = {
    "channel": {"y": "rgb", "rgb": "y"},
    "gray": {"gray": "rgb3", "rgb3": "gray"},
    "ssim": {"matlab": "skimage", "skimage": "matlab"},
    "rounding": {"matlab": "float", "float": "matlab"},
    "boundary": {"symmetric": "replicate", "replicate": "symmetric"},
    "weights_key": {"params_ema": "params", "params": "params_ema"},
}
# the changes in words (at most 50 characters: a column of the terminal table)
GRAY_WORDS = {
    "rgb3": "gray images as RGB, then Y (BasicSR's cv2 read)",
    "gray": "gray images on their gray channel (MATLAB)",
}
SSIM_WORDS = {
    "skimage": "scikit-image SSIM (7x7 uniform), not MATLAB's",
    "matlab": "MATLAB SSIM (Gaussian 11x11), not scikit-image's",
}
ROUNDING_WORDS = {
    "float": "LR rounded once, as float (BasicSR numpy)",
    "matlab": "LR rounded to uint8 between passes (MATLAB)",
}
BOUNDARY_WORDS = {
    "replicate": "LR with replicate boundary (MATLAB < R2007b)",
    "symmetric": "LR with symmetric boundary (MATLAB R2007b+)",
}
# what a variant changes (the names --vary takes)
AXES = ("channel", "crop", "gray", "ssim", "lr", "rounding", "boundary", "weights")
# what --protocol KEY=VALUE may change in the base (e.g. gray=rgb3: a BasicSR-style run)
OVERRIDES = {
    "channel": ("y", "rgb"),
    "crop": "'scale' or a whole number >= 0",
    "gray": GRAY_POLICIES,
    "ssim": SSIM_KINDS,
    "lr": LR_MODES,
    "rounding": ROUNDING_MODES,
    "boundary": BOUNDARY_MODES,
    "weights_key": "a state-dict key of the checkpoint, e.g. params",
}


@dataclass(frozen=True)
class Setup:
    """What decides a cell's number beyond the model: how LR is made and how SR is scored."""

    channel: str
    crop: int
    gray: str
    ssim: str
    lr: str  # official | bicubic (made here) | odi-fisheye-bicubic (OSRT's 360° pipeline)
    rounding: str  # of LR made here
    boundary: str  # of LR made here
    weights_key: str | None

    @property
    def lr_source(self) -> str:
        return f"bicubic-{self.rounding}-{self.boundary}" if self.lr == "bicubic" else self.lr

    @property
    def recipe(self) -> tuple[str, str | None]:
        """What decides the SR outputs (the rest only decides how they are scored)."""
        return self.lr_source, self.weights_key

    def make_lr(self, hr: np.ndarray, scale: int) -> np.ndarray:
        """LR made here from a mod-cropped HR (Dataset fits its HR to the LR size)."""
        return imresize_uint8(hr, 1.0 / scale, rounding=self.rounding, boundary=self.boundary)

    def describe(self) -> str:
        lr = "official LR" if self.lr == "official" else f"LR {self.lr_source}"
        parts = [
            self.channel.upper(),
            f"crop {self.crop}",
            f"gray images as {self.gray}",
            lr,
            f"SSIM {self.ssim}",
        ]
        return ", ".join(parts + ([f"weights {self.weights_key}"] if self.weights_key else []))


@dataclass(frozen=True)
class Variant:
    axis: str  # channel, crop, gray, ssim, lr, rounding, boundary, weights
    label: str  # the change in words
    setup: Setup
    forward: bool  # needs new SR outputs (an input variant), else the base's are re-scored


def apply_overrides(base: Setup, overrides: dict, scale: int, data: Dataset) -> Setup:
    """The base with ``--protocol KEY=VALUE`` changes applied (checked)."""
    changes = {}
    for key, value in overrides.items():
        if key not in OVERRIDES:
            raise UnknownNameError(
                f"--protocol {key}: not a protocol key the explainer varies; "
                f"{did_you_mean(key, OVERRIDES)}"
            )
        value = str(value)
        if key == "crop":
            if value != "scale" and not value.isdigit():
                raise ReproError(f"--protocol crop={value}: expected {OVERRIDES['crop']}")
            changes[key] = scale if value == "scale" else int(value)
        elif key == "weights_key":
            changes[key] = value
        elif value not in OVERRIDES[key]:
            raise ReproError(
                f"--protocol {key}={value}: expected one of {', '.join(OVERRIDES[key])}"
            )
        else:
            changes[key] = value
    if changes.get("lr") == "official" and not data.has_official_lr:
        raise ReproError(f"--protocol lr=official: {data.card.name} has no official LR files here")
    if "weights_key" in changes and base.weights_key is None:
        raise ReproError("--protocol weights_key: this model has no weights")
    return replace(base, **changes)


def protocol_variants(
    base: Setup, col: Column, scale: int, data: Dataset, other_key: str | None, why_no_key: str
) -> tuple[list[Variant], list[dict]]:
    """The variants of ``base`` that apply to a column, each one change from it, and the
    skipped ones as ``{axis, reason}`` (``other_key``: the checkpoint's other state dict)."""
    metric_keys = set(get_metric(col.metric).protocol_keys)
    if col.variant in STEREO_VARIANTS:  # stereo scores are RGB, crop 0: only the SSIM kind
        metric_keys &= {"ssim"}
    out: list[Variant] = []
    skipped: list[dict] = []

    def add(axis, label, forward=False, **change):
        out.append(Variant(axis, label, replace(base, **change), forward))

    def skip(axis, reason):
        skipped.append({"axis": axis, "reason": reason})

    if "channel" in metric_keys and base.channel in FLIP["channel"]:
        other = FLIP["channel"][base.channel]
        add("channel", f"{other.upper()} instead of {base.channel.upper()}", channel=other)
    else:
        skip("channel", f"{col.frame_metric} fixes its channel")
    if "crop" in metric_keys:
        crop = 0 if base.crop else scale
        add("crop", f"crop {crop} instead of {base.crop}", crop=crop)
    else:
        skip("crop", f"{col.frame_metric} fixes its crop")
    if "gray" in metric_keys:
        other = FLIP["gray"][base.gray]
        add("gray", GRAY_WORDS[other], gray=other)
    else:
        skip("gray", f"{col.frame_metric} has no gray-image policy")
    if "ssim" in metric_keys:
        other = FLIP["ssim"][base.ssim]
        add("ssim", SSIM_WORDS[other], ssim=other)
    else:
        skip("ssim", f"{col.frame_metric} is not an SSIM")
    if base.lr == "odi-fisheye-bicubic":
        skip("lr", "360° LR comes from OSRT's fisheye pipeline, not MATLAB imresize")
    elif not data.layout.hr:
        skip("lr", f"{data.card.name} has no HR images to make LR from")
    else:
        made = base
        if base.lr == "bicubic" and data.has_official_lr:
            add("lr", "the official LR files, not LR made here", True, lr="official")
        if base.lr == "official":  # the rounding and boundary variants then make LR here too
            made = replace(base, lr="bicubic", rounding="matlab", boundary=data.boundary)
            add("lr", "LR made here (MATLAB imresize), not the official", True, **_lr(made))
        r, b = FLIP["rounding"][made.rounding], FLIP["boundary"][made.boundary]
        add("rounding", ROUNDING_WORDS[r], True, **_lr(made, rounding=r))
        add("boundary", BOUNDARY_WORDS[b], True, **_lr(made, boundary=b))
    if other_key:
        label = f"checkpoint key {other_key}, not {base.weights_key}"
        add("weights", label, True, weights_key=other_key)
    else:
        skip("weights", why_no_key)
    return out, skipped


def check_axes(vary: tuple[str, ...] | None) -> None:
    for axis in vary or ():
        if axis not in AXES:
            raise UnknownNameError(f"--vary {axis}: {did_you_mean(axis, AXES)}")


def only(
    variants: list[Variant], skipped: list[dict], vary: tuple[str, ...] | None
) -> tuple[list[Variant], list[dict]]:
    """The variants of the axes in ``vary`` (all when None); the others are listed as skipped."""
    if vary is None:
        return variants, skipped
    left_out = dict.fromkeys(v.axis for v in variants if v.axis not in vary)
    skipped = skipped + [{"axis": a, "reason": "not asked for (--vary)"} for a in left_out]
    return [v for v in variants if v.axis in vary], skipped


def _lr(made: Setup, **change) -> dict:
    return {"lr": "bicubic", "rounding": made.rounding, "boundary": made.boundary, **change}


def other_state_dict(prov: dict) -> tuple[str | None, str]:
    """The checkpoint's other state dict (params <-> params_ema) when it holds both."""
    weights = prov.get("weights")
    if not weights:
        return None, f"{prov['model']} has no weights"
    path, key = Path(weights["path"]), weights["key"]
    if path.suffix != ".pth":
        return None, f"the checkpoint {path.name} holds one state dict"
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=True)
    nested = (
        sorted(k for k, v in obj.items() if isinstance(v, dict)) if isinstance(obj, dict) else []
    )
    other = FLIP["weights_key"].get(key)
    if other in nested:
        return other, ""
    return None, f"the checkpoint holds {', '.join(nested) or 'one state dict'}, not {other}"


def change_of(base: Setup, setup: Setup) -> str:
    """A variant as ``--protocol`` would set it, e.g. 'gray=rgb3' or 'lr=bicubic rounding=float'."""
    a, b = asdict(base), asdict(setup)
    return " ".join(f"{k}={b[k]}" for k in a if a[k] != b[k])
