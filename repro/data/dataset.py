"""One set at one scale in one folder: verified :class:`Sample` objects, with LR made if absent.

Files are verified against the card's sha256 as they are read; LR images absent from disk are
made the papers' way (mod-crop, MATLAB bicubic, uint8 rounding; 360° sets: OSRT's fisheye
pipeline, ``repro.data.odi``). Stereo samples carry both views side by side in the channel axis
(left RGB, right RGB: 6 channels), which is what stereo models take.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from repro.checksums import sha256_file
from repro.data.fetch_lock import lock_for
from repro.data.schema import LR_BOUNDARIES, LR_MAKERS, Card, Layout, fill
from repro.errors import ChecksumError, DataError
from repro.imageio import IMAGE_SUFFIXES, read_image, to_rgb3

LR_MODES = ("official", "bicubic")


@dataclass
class Sample:
    name: str
    lr: np.ndarray  # uint8 (h, w, C); C = 1 or 3 (6 for stereo pairs)
    hr: np.ndarray | None  # uint8 (s*h, s*w, C) or None for LR-only sets
    meta: dict = field(default_factory=dict)


def _template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.escape(template).replace(r"\{name\}", "(?P<name>.+)") + "$")


class Dataset:
    """One set at one scale in one folder. Iterating yields verified :class:`Sample` objects."""

    def __init__(
        self,
        card: Card,
        root: Path,
        layout: Layout,
        scale: int,
        *,
        lr_mode: str = "official",
        rounding: str = "matlab",
        origin: str = "local",
        label: str | None = None,
        recorded: dict[str, str] | None = None,
    ) -> None:
        if lr_mode not in LR_MODES:
            raise DataError(f"unknown LR mode '{lr_mode}'; use one of {LR_MODES}")
        self.card, self.root, self.layout, self.scale = card, root, layout, scale
        self.lr_mode, self.rounding, self.origin = lr_mode, rounding, origin
        # relative path -> sha256 recorded when the set was built here (.built.json)
        self.recorded = recorded or {}
        # provenance names the folder by the base it was found under (e.g. <data-root>/Set5),
        # never by this machine's absolute path; ``root`` stays absolute for reading files
        self.label = label or f"<elsewhere>/{root.name}"
        self.lock = lock_for(card.name, root)  # the sha256 `repro fetch` recorded for this folder
        found = self._list_names()
        # images the papers' test split drops (e.g. OSRT's cleaning of ODI-SR) are never scored
        self.excluded = [n for n in found if n in card.exclude]
        self.names = [n for n in found if n not in card.exclude]
        self.file_sha256: dict[str, str] = {}  # relative path -> digest, filled as files are read
        self._hashed: dict[tuple, str] = {}  # (relative path, mtime, size) -> digest
        self.unverified = 0

    # -- discovery -------------------------------------------------------------------------
    def _views(self) -> tuple[str, ...]:
        return self.layout.views or ("",)

    def _list_names(self) -> list[str]:
        template = self.layout.hr or self.layout.lr
        pattern = fill(template, name="{name}", scale=self.scale, view=self._views()[0])
        regex = _template_regex(pattern)
        parts = Path(pattern).parts
        fixed = next(i for i, part in enumerate(parts) if "{name}" in part)
        folder = self.root.joinpath(*parts[:fixed])
        if not folder.is_dir():
            raise DataError(f"{self.card.name}: folder {folder} not found; check the layout")
        names = []
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            match = regex.match(path.relative_to(self.root).as_posix())
            if match:
                names.append(match.group("name"))
            elif path.suffix.lower() not in IMAGE_SUFFIXES:
                raise DataError(
                    f"unexpected non-image file {path} in dataset folder {folder}; "
                    "remove it (or move it out of the dataset folder)"
                )
        if not names:
            raise DataError(
                f"no images matching '{pattern}' in {self.root} for {self.card.name}; "
                "check the folder layout (datasets/README.md)"
            )
        return names

    @property
    def has_official_lr(self) -> bool:
        return self.layout.lr is not None

    @property
    def boundary(self) -> str:
        """Edge rule of the MATLAB that made the set's official LR (B100/Urban100: replicate)."""
        return self.card.protocol.lr_boundary or LR_BOUNDARIES[0]

    @property
    def lr_maker(self) -> str:
        """How missing LR is made: MATLAB bicubic, or OSRT's fisheye pipeline for 360° sets."""
        return self.card.protocol.lr_maker or LR_MAKERS[0]

    @property
    def lr_source(self) -> str:
        if self.lr_mode == "official" and self.has_official_lr:
            return "official"
        if self.lr_maker == "odi-fisheye":
            return "odi-fisheye-bicubic"
        return f"bicubic-{self.rounding}-{self.boundary}"

    @property
    def complete(self) -> bool:
        return self.card.images is None or len(self.names) >= self.card.images

    def files(self, name: str) -> dict[str, list[Path]]:
        out: dict[str, list[Path]] = {"hr": [], "lr": []}
        for view in self._views():
            if self.layout.hr:
                out["hr"].append(
                    self.root / fill(self.layout.hr, name=name, scale=self.scale, view=view)
                )
            if self.layout.lr and self.lr_source == "official":
                out["lr"].append(
                    self.root / fill(self.layout.lr, name=name, scale=self.scale, view=view)
                )
        return out

    # -- reading ---------------------------------------------------------------------------
    def _verify_file(self, path: Path) -> tuple[str, str]:
        """Hash one file and check it against the card; return (relative path, sha256)."""
        if not path.is_file():
            raise DataError(
                f"missing file {path} for {self.card.name} x{self.scale}; re-fetch the dataset "
                "or fix its folder layout"
            )
        rel = path.relative_to(self.root).as_posix()
        stat = path.stat()
        stamp = (rel, stat.st_mtime_ns, stat.st_size)
        digest = self._hashed.get(stamp)  # verify() then load() hash each file once
        if digest is None:
            digest = self._hashed[stamp] = sha256_file(path)
        expected = self.card.sha256.get(rel) or self.recorded.get(rel)
        if expected is None and self.lock is not None:  # raises if the file changed since
            expected = self.lock.check(path, rel, digest)
        if expected is not None and digest != expected:
            whose = "the card" if rel in self.card.sha256 else "its build record"
            raise ChecksumError(
                f"checksum mismatch for {path}: sha256 {digest[:12]}..., {whose} records "
                f"{expected[:12]}...; the file is corrupt or altered: re-fetch {self.card.name}"
            )
        if rel not in self.file_sha256 and expected is None:
            self.unverified += 1
        self.file_sha256[rel] = digest
        return rel, digest

    def verify(self, name: str) -> dict[str, str]:
        """Verify the files of one image against the card; return relative path -> sha256."""
        files = self.files(name)
        return dict(self._verify_file(p) for p in files["hr"] + files["lr"])

    def _read_verified(self, path: Path) -> np.ndarray:
        self._verify_file(path)
        return read_image(path)

    def load(self, name: str) -> Sample:
        from repro.data.imresize import imresize_uint8, modcrop  # torch: only when LR is made

        files = self.files(name)
        hr_views = [self._read_verified(p) for p in files["hr"]]
        s = self.scale
        if files["lr"]:
            lr_views = [self._read_verified(p) for p in files["lr"]]
        elif hr_views and self.lr_maker == "odi-fisheye":
            hr_views = [to_rgb3(h) for h in hr_views]  # the official reader converts to RGB
            lr_views = [self._odi_lr(name, h) for h in hr_views]
        elif hr_views:
            lr_views = [
                imresize_uint8(
                    modcrop(h, s), 1.0 / s, rounding=self.rounding, boundary=self.boundary
                )
                for h in hr_views
            ]
        else:
            raise DataError(f"{self.card.name}: layout '{self.layout.name}' gives no LR for {name}")
        if hr_views:
            hr_views = [self._fit(name, h, lr) for h, lr in zip(hr_views, lr_views, strict=True)]
        lr = _stack_views(lr_views)
        hr = _stack_views(hr_views) if hr_views else None
        meta = {
            "gray": bool(lr_views[0].shape[2] == 1),
            "lr_source": self.lr_source,
            "files": [p.relative_to(self.root).as_posix() for p in files["hr"] + files["lr"]],
        }
        return Sample(name=name, lr=lr, hr=hr, meta=meta)

    def _odi_lr(self, name: str, hr: np.ndarray) -> np.ndarray:
        from repro.data.odi import ODI_HR_SIZE, odi_fisheye_lr  # torch: only when LR is made

        if hr.shape[:2] != ODI_HR_SIZE:
            # The official LR comes from the HR resized to 1024x2048, but the score is taken
            # against the HR file cropped top-left to LR*scale: other sizes give no valid pair.
            raise DataError(
                f"{self.card.name}/{name}: HR is {hr.shape[1]}x{hr.shape[0]}; the official 360° "
                f"pipeline needs {ODI_HR_SIZE[1]}x{ODI_HR_SIZE[0]} ERP HR images (it resizes "
                "the HR to that size to make the LR, then scores against the HR file as is); "
                "resize the HR folder to 2048x1024 first"
            )
        return odi_fisheye_lr(hr, self.scale)

    def _fit(self, name: str, hr: np.ndarray, lr: np.ndarray) -> np.ndarray:
        """Crop HR to LR * scale (mod-crop); refuse pairs whose sizes do not fit the scale."""
        s = self.scale
        if hr.shape[:2] == lr.shape[:2] and s != 1:
            raise DataError(
                f"{self.card.name}/{name}: LR and HR are both {hr.shape[1]}x{hr.shape[0]} (LR "
                f"pre-upsampled, as in the NTIRE19 RealSR release), so an x{s} model cannot use "
                "it; supply the true LR images (RealSR V3 Test/4) in another folder"
            )
        h, w = lr.shape[0] * s, lr.shape[1] * s
        dh, dw = hr.shape[0] - h, hr.shape[1] - w
        if not (0 <= dh < s and 0 <= dw < s):
            raise DataError(
                f"{self.card.name}/{name}: HR {hr.shape[1]}x{hr.shape[0]} does not fit LR "
                f"{lr.shape[1]}x{lr.shape[0]} at x{s} (expected {w}x{h} up to mod-crop); "
                "is the LR file of another scale?"
            )
        if hr.shape[2] != lr.shape[2]:
            raise DataError(
                f"{self.card.name}/{name}: HR has {hr.shape[2]} channel(s), LR {lr.shape[2]}; "
                "re-make the LR from this HR"
            )
        return hr[:h, :w]

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[Sample]:
        for name in self.names:
            yield self.load(name)

    def limit(self, n: int | None) -> Dataset:
        if n is not None:
            self.names = self.names[:n]
        return self

    def describe(self) -> dict:
        return {
            "dataset": self.card.name,
            "root": self.label,
            "origin": self.origin,
            "layout": self.layout.name,
            "scale": self.scale,
            "images": len(self.names),
            "complete": self.complete,
            "lr_source": self.lr_source,
            "excluded": self.excluded,
            **({"fetched": self.lock.provenance()} if self.lock else {}),
        }


def _stack_views(views: list[np.ndarray]) -> np.ndarray:
    if len(views) == 1:
        return views[0]
    views = [to_rgb3(v) for v in views]
    if any(v.shape != views[0].shape for v in views):
        raise DataError("stereo views differ in size; both views must have the same size")
    return np.concatenate(views, axis=2)


def match_layout(card: Card, root: Path, scale: int) -> Layout | None:
    """The first of the card's layouts whose files exist under ``root`` at ``scale``."""
    for layout in card.layouts:
        view = layout.views[0] if layout.views else ""
        templates = [t for t in (layout.hr, layout.lr) if t]
        if all(any(root.glob(fill(t, scale=scale, view=view))) for t in templates):
            return layout
    return None
