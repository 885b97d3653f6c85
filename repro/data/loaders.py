"""Resolve a dataset card to samples: a local folder first, then the Hugging Face Hub.

Data flows one way: card -> folder -> Sample(name, lr, hr, meta). Files are verified against the
card's sha256 as they are read; LR images absent from disk are made the papers' way (mod-crop,
MATLAB bicubic, uint8 rounding; 360° sets: OSRT's fisheye pipeline, ``repro.data.odi``). Stereo
samples carry both views side by side in the channel axis (left RGB, right RGB: 6 channels),
which is what stereo models take.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from repro.checksums import sha256_file
from repro.data.cards import Card, HubSource, Layout, get_card
from repro.errors import ChecksumError, DataError, MissingDataError
from repro.imageio import IMAGE_SUFFIXES, read_image, to_rgb3
from repro.paths import labelled_data_roots

LR_MODES = ("official", "bicubic")
LR_MAKERS = ("matlab-bicubic", "odi-fisheye")  # card protocol key ``lr_maker``


@dataclass
class Sample:
    name: str
    lr: np.ndarray  # uint8 (h, w, C); C = 1 or 3 (6 for stereo pairs)
    hr: np.ndarray | None  # uint8 (s*h, s*w, C) or None for LR-only sets
    meta: dict = field(default_factory=dict)


def _template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.escape(template).replace(r"\{name\}", "(?P<name>.+)") + "$")


def _fill(template: str, *, name: str = "*", scale: int, view: str = "") -> str:
    return template.replace("{scale}", str(scale)).replace("{view}", view).replace("{name}", name)


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
    ) -> None:
        if lr_mode not in LR_MODES:
            raise DataError(f"unknown LR mode '{lr_mode}'; use one of {LR_MODES}")
        self.card, self.root, self.layout, self.scale = card, root, layout, scale
        self.lr_mode, self.rounding, self.origin = lr_mode, rounding, origin
        # provenance names the folder by the base it was found under (e.g. <data-root>/Set5),
        # never by this machine's absolute path; ``root`` stays absolute for reading files
        self.label = label or f"<elsewhere>/{root.name}"
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
        pattern = _fill(template, name="{name}", scale=self.scale, view=self._views()[0])
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
        return self.card.protocol.get("lr_boundary", "symmetric")

    @property
    def lr_maker(self) -> str:
        """How missing LR is made: MATLAB bicubic, or OSRT's fisheye pipeline for 360° sets."""
        maker = self.card.protocol.get("lr_maker", "matlab-bicubic")
        if maker not in LR_MAKERS:
            raise DataError(f"{self.card.name}: unknown lr_maker '{maker}'; use one of {LR_MAKERS}")
        return maker

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
                    self.root / _fill(self.layout.hr, name=name, scale=self.scale, view=view)
                )
            if self.layout.lr and self.lr_source == "official":
                out["lr"].append(
                    self.root / _fill(self.layout.lr, name=name, scale=self.scale, view=view)
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
        expected = self.card.sha256.get(rel)
        if expected is not None and digest != expected:
            raise ChecksumError(
                f"checksum mismatch for {path}: sha256 {digest[:12]}..., the card records "
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
        from repro.data.imresize import imresize_uint8, modcrop

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
        from repro.data.odi import ODI_HR_SIZE, odi_fisheye_lr

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
        }


def _stack_views(views: list[np.ndarray]) -> np.ndarray:
    if len(views) == 1:
        return views[0]
    views = [to_rgb3(v) for v in views]
    if any(v.shape != views[0].shape for v in views):
        raise DataError("stereo views differ in size; both views must have the same size")
    return np.concatenate(views, axis=2)


def _match_layout(card: Card, root: Path, scale: int) -> Layout | None:
    for layout in card.layouts:
        view = layout.views[0] if layout.views else ""
        templates = [t for t in (layout.hr, layout.lr) if t]
        if all(any(root.glob(_fill(t, scale=scale, view=view))) for t in templates):
            return layout
    return None


# -- the Hugging Face Hub ------------------------------------------------------------------
#: Seconds a Hub request may wait (the reachability probe and snapshot_download's etag_timeout).
HUB_TIMEOUT = 5.0
# Whether the Hub answers is decided once per process: without a network, every (row, dataset)
# of a table would otherwise retry for ~20 s each. None: not probed yet; "": reachable.
_hub_down: str | None = None
# exception class names (anywhere in the cause chain) that mean "no connection", for the
# requests- and httpx-based huggingface_hub releases alike (not bare timeouts: a filelock
# Timeout on the HF cache is no network failure)
_NETWORK_ERRORS = frozenset(
    {"ConnectError", "ConnectionError", "ConnectTimeout", "TimeoutException", "NetworkError"}
)


def reset_hub_state() -> None:
    """Forget the reachable-or-not decision about the Hub (tests; a process that reconnected)."""
    global _hub_down
    _hub_down = None


def _hub_offline() -> bool:
    import huggingface_hub.constants as hfc

    check = getattr(hfc, "is_offline_mode", None)  # newer releases; older: the constant
    return bool(check()) if callable(check) else bool(hfc.HF_HUB_OFFLINE)


def _probe_hub() -> str:
    """One short request to the Hub endpoint, no retries: "" if it answers, else why not."""
    import huggingface_hub.constants as hfc
    from huggingface_hub.utils import get_session

    try:  # any HTTP status means reachable; snapshot_download then reports 404s and the like
        get_session().head(hfc.ENDPOINT, timeout=HUB_TIMEOUT)
    except Exception as exc:  # refused, DNS, timeout, TLS: the Hub cannot be used from here
        return f"{hfc.ENDPOINT} unreachable: {type(exc).__name__}"
    return ""


def _connection_failure(exc: BaseException | None) -> str | None:
    """The name of the "no connection" error in ``exc``'s cause chain, if there is one."""
    for _ in range(8):  # e.g. LocalEntryNotFoundError raised from httpx's ConnectError
        if exc is None:
            return None
        if any(cls.__name__ in _NETWORK_ERRORS for cls in type(exc).__mro__):
            return type(exc).__name__
        exc = exc.__cause__ or exc.__context__
    return None


def _put_it_locally(card: Card) -> str:
    """The advice every missing-data message ends with."""
    return (
        f"get it from {card.source_hint()} and put it in <data root>/{card.local_dirs[0]}: pass "
        "--data-root <data root>, list the folder in REPRO_DATA, or set REPRO_SHARED to a folder "
        "whose data/ holds it"
    )


def hub_snapshot(card: Card) -> Path:
    """Download (or find in the HF cache) the card's pinned Hub snapshot; honours HF_HUB_OFFLINE.

    After the first failed connection in this process, only the local HF cache is consulted.
    """
    global _hub_down
    hub: HubSource = card.hub  # type: ignore[assignment]
    if hub.revision is None:
        raise MissingDataError(
            f"{card.name}: its Hub source {hub.repo} has no pinned revision; put the set in a "
            "local folder (--data-root) or pin a revision in the card"
        )
    from huggingface_hub import snapshot_download

    offline = _hub_offline()
    if not offline and _hub_down is None:
        _hub_down = _probe_hub()
    local_only = offline or bool(_hub_down)
    try:
        folder = snapshot_download(
            repo_id=hub.repo,
            repo_type=hub.repo_type,
            revision=hub.revision,
            allow_patterns=list(hub.allow_patterns) or None,
            etag_timeout=HUB_TIMEOUT,
            local_files_only=local_only,
        )
    except Exception as exc:  # not cached, unknown repo or revision, network errors
        lost = None if local_only else _connection_failure(exc)
        if lost:
            _hub_down = f"connection lost: {lost}"
        if offline:
            why = "HF_HUB_OFFLINE=1 and not in the HF cache"
        elif _hub_down:
            why = f"{_hub_down}; not in the HF cache"
        else:
            why = type(exc).__name__
        raise MissingDataError(
            f"{card.name}: cannot get {hub.repo}@{hub.revision[:8]} from the Hub ({why}); "
            f"connect, or {_put_it_locally(card)}"
        ) from None
    return Path(folder) / hub.subdir if hub.subdir else Path(folder)


def _snapshot_commit(card: Card, folder: Path) -> str:
    """The full commit a snapshot resolved to (HF cache: ``snapshots/<commit>/<subdir>``)."""
    hub: HubSource = card.hub  # type: ignore[assignment]
    revision = str(hub.revision)
    root = folder.parents[len(Path(hub.subdir).parts) - 1] if hub.subdir else folder
    # the cache names a snapshot by its full commit; an abbreviated pin resolves to it
    return root.name if root.name.startswith(revision) else revision


def _label(path: Path, bases: list[tuple[str, Path]]) -> str:
    """``<base label>/relative/path`` for provenance; ``<elsewhere>/<name>`` when under none."""
    resolved = path.resolve()
    for label, base in bases:
        base = Path(base).expanduser().resolve()
        if resolved.is_relative_to(base):
            rel = resolved.relative_to(base).as_posix()
            return label if rel == "." else f"{label}/{rel}"
    return f"<elsewhere>/{path.name}"


# -- unpacking archives and parquet tables into the repro cache -----------------------------
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
#: Bounds on what the archives of one set may unpack to; generous (the largest benchmark
#: archives hold a few GB and thousands of files), they stop archive bombs. Tests lower them.
MAX_ARCHIVE_BYTES = 64 << 30
MAX_ARCHIVE_MEMBERS = 200_000


def _cache_target(card: Card) -> Path:
    from repro.paths import cache_dir

    revision = card.hub.revision if card.hub else None
    return cache_dir() / "datasets" / card.name / (revision or "local")


@contextlib.contextmanager
def _staged_folder(card: Card, target: Path) -> Iterator[Path]:
    """A fresh temporary sibling of ``target``, renamed to ``target`` only if the body succeeds.

    Readers thus see no folder or a complete one (with its ``.complete`` marker); a folder
    without the marker is a leftover of an interrupted run of older code and is replaced.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".tmp-{target.name}-"))
    try:
        yield tmp
        (tmp / ".complete").write_text("ok\n")
        try:
            if target.is_dir() and not (target / ".complete").is_file():
                shutil.rmtree(target)
            os.rename(tmp, target)
        except OSError as exc:
            if not (target / ".complete").is_file():  # else another process finished first
                raise DataError(
                    f"{card.name}: cannot move the unpacked set into {target} ({exc}); remove "
                    "that folder and run again"
                ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_member(card: Card, archive: Path, name: str, folder: Path) -> None:
    """Refuse a member name (archive or parquet) that would be written outside ``folder``."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    unsafe = (
        not name
        or "\0" in name
        or name.startswith(("/", "\\"))
        or bool(PureWindowsPath(name).drive)
        or ".." in parts
        or not (folder / name).resolve().is_relative_to(folder.resolve())
    )
    if unsafe:
        raise DataError(
            f"{card.name}: {archive.name} holds {name!r}, which would be written outside the "
            "dataset folder; the file is unsafe: delete it from the HF cache and put the set in a "
            "local folder (--data-root)"
        )


def _tally(card: Card, archive: Path, used: list[int], size: int) -> None:
    """Count one member against the per-set bounds (``used``: [members, bytes] so far)."""
    used[0] += 1
    used[1] += max(0, int(size))
    if used[0] > MAX_ARCHIVE_MEMBERS or used[1] > MAX_ARCHIVE_BYTES:
        raise DataError(
            f"{card.name}: the archives unpack to more than {MAX_ARCHIVE_MEMBERS} files or "
            f"{MAX_ARCHIVE_BYTES / 2**30:.0f} GiB (at {archive.name}); refusing what looks like "
            "an archive bomb: delete it from the HF cache and put the set in a local folder"
        )


def _refuse_link(card: Card, archive: Path, name: str) -> None:
    raise DataError(
        f"{card.name}: {archive.name} holds {name!r}, a link or special file; dataset archives "
        "hold plain files only: delete it from the HF cache and put the set in a local folder"
    )


def _unpack(card: Card, archive: Path, folder: Path, used: list[int]) -> None:
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                _check_member(card, archive, info.filename, folder)
                if stat.S_ISLNK(info.external_attr >> 16):
                    _refuse_link(card, archive, info.filename)
                _tally(card, archive, used, info.file_size)
            z.extractall(folder)
        return
    with tarfile.open(archive) as t:
        members = []
        for member in t:  # streamed: a bomb is stopped at the first member past the bounds
            _check_member(card, archive, member.name, folder)
            if not (member.isfile() or member.isdir()):
                _refuse_link(card, archive, member.name)
            _tally(card, archive, used, member.size)
            members.append(member)
        t.extractall(folder, members=members, filter="data")


# what corrupt archives raise: gzip streams EOFError / zlib.error, not only TarError
_ARCHIVE_ERRORS = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    RuntimeError,  # encrypted zip members
    NotImplementedError,  # zip compression methods Python lacks
    ValueError,
)


def extract_archives(card: Card, snapshot: Path) -> Path:
    """Unpack archives of a Hub snapshot (e.g. ``Set5_HR.tar.gz``) once into the repro cache.

    Returns the snapshot itself when it holds no archive. Members must be plain files or folders
    that stay inside the target, within :data:`MAX_ARCHIVE_MEMBERS` / :data:`MAX_ARCHIVE_BYTES`;
    everything is unpacked into a temporary folder renamed into place at the end, so a failure
    leaves nothing behind.
    """
    archives = sorted(p for p in snapshot.rglob("*") if p.name.endswith(ARCHIVE_SUFFIXES))
    if not archives:
        return snapshot
    target = _cache_target(card)
    if (target / ".complete").is_file():
        return target
    with _staged_folder(card, target) as tmp:
        used = [0, 0]
        for archive in archives:
            try:
                _unpack(card, archive, tmp, used)
            except _ARCHIVE_ERRORS as exc:
                raise DataError(
                    f"{card.name}: cannot unpack {archive.name} ({type(exc).__name__}: {exc}); "
                    "delete it from the HF cache and fetch it again"
                ) from None
    return target


def _plain_name(card: Card, column: str, row: int, value: object) -> str:
    """A parquet row's image name, which becomes a file or folder name: no path in it."""
    name = str(value)
    if (
        not name
        or name in (".", "..")
        or any(c in name for c in "/\\\0")
        or bool(PureWindowsPath(name).drive)
    ):
        raise DataError(
            f"{card.name}: row {row + 1} of the parquet name column '{column}' is {name!r}, not "
            "a plain file name (no path separators, '..' or NUL); the Hub table is unsafe: put "
            "the set in a local folder (--data-root)"
        )
    return name


def materialise_parquet(card: Card, layout: Layout, snapshot: Path) -> Path:
    """Write the image bytes of a Hub parquet dataset to files, once, in the repro cache.

    Images are written byte for byte (``Image(decode=False)``), so the card's sha256 of the
    original files still applies. The folder then follows the layout's ``hr``/``lr`` templates.
    Files are written into a temporary folder renamed into place when every row is out.
    """
    import datasets as hf_datasets

    # the library's logs and progress bars would break the one-line error promise on stderr
    # (its own errors too: a corrupt file is re-raised below as one line)
    hf_datasets.utils.logging.set_verbosity(hf_datasets.utils.logging.CRITICAL)
    hf_datasets.disable_progress_bars()
    spec = layout.parquet or {}
    views = layout.views or ("",)
    files = sorted(str(p) for p in snapshot.glob(spec.get("files", "**/*.parquet")))
    if not files:
        raise DataError(f"{card.name}: no parquet files in the Hub snapshot {snapshot}")
    target = _cache_target(card)
    if (target / ".complete").is_file():
        return target
    try:
        table = hf_datasets.Dataset.from_parquet(files)
    except Exception as exc:  # pyarrow / datasets errors on corrupt files vary by release
        raise DataError(
            f"{card.name}: cannot read the Hub parquet files ({type(exc).__name__}); delete them "
            "from the HF cache and fetch them again"
        ) from None
    # kind -> view -> column template; a plain string serves single-image layouts
    columns = {
        kind: col if isinstance(col, dict) else {views[0]: col}
        for kind, col in spec.items()
        if kind in ("hr", "lr") and col
    }
    for per_view in columns.values():
        for col in per_view.values():
            for scale in card.scales or (1,):
                name = col.replace("{scale}", str(scale))
                if name in table.column_names:
                    table = table.cast_column(name, hf_datasets.Image(decode=False))
    name_column = spec.get("name")  # None: pairs are numbered by row, 0001, 0002, ...
    with _staged_folder(card, target) as tmp:
        seen: set[str] = set()
        for row, item in enumerate(table):
            if name_column:
                name = _plain_name(card, name_column, row, item[name_column])
            else:
                name = f"{row + 1:04d}"
            if name in seen:
                raise DataError(
                    f"{card.name}: the parquet name column '{name_column}' holds {name!r} twice; "
                    "image names must be unique"
                )
            seen.add(name)
            for kind, per_view in columns.items():
                for view, col in per_view.items():
                    for scale in card.scales or (1,):
                        cell = item.get(col.replace("{scale}", str(scale)))
                        if not cell:
                            continue
                        data = cell.get("bytes") if isinstance(cell, dict) else None
                        if not isinstance(data, bytes):
                            raise DataError(
                                f"{card.name}: row {row + 1} column '{col}' holds no image "
                                "bytes; the Hub table is not usable as is"
                            )
                        rel = _fill(getattr(layout, kind), name=name, scale=scale, view=str(view))
                        _check_member(card, Path(files[0]), rel, tmp)
                        out = tmp / rel
                        out.parent.mkdir(parents=True, exist_ok=True)
                        out.write_bytes(data)
    return target


def require_in_data_root(data_root: str | os.PathLike | None, names: list[str]) -> None:
    """An explicit ``--data-root`` must hold at least one of the datasets asked for.

    Otherwise a mistyped or empty folder would be passed over for REPRO_DATA, shared/data or
    the Hub without a word: the user would score data they did not point at.
    """
    if not data_root:
        return
    root = labelled_data_roots(data_root)[0][1]
    cards = [get_card(n) for n in names]
    if any((root / sub).is_dir() for card in cards for sub in card.local_dirs):
        return
    wanted = ", ".join(f"{root}/{card.local_dirs[0]}" for card in cards[:3])
    raise DataError(
        f"--data-root {data_root} holds none of the datasets asked for (expected {wanted}"
        f"{', ...' if len(cards) > 3 else ''}); point it at the folder that holds them"
    )


def open_dataset(
    name: str,
    scale: int,
    *,
    data_root: str | os.PathLike | None = None,
    lr_mode: str = "official",
    rounding: str = "matlab",
    use_hub: bool = True,
) -> Dataset:
    """Find ``name`` at ``scale``: local roots first, then the Hub; raise DataError if absent.

    A ``data_root`` (``--data-root``) or ``REPRO_DATA`` entry that does not exist is an error.
    """
    card = get_card(name)
    if card.scales and scale not in card.scales:
        raise DataError(
            f"{card.name} is not used at x{scale} in the papers (scales: {list(card.scales)}); "
            "pick one of those"
        )
    tried = []
    for label, root in labelled_data_roots(data_root):
        for sub in card.local_dirs:
            folder = root / sub
            tried.append(str(folder))
            if folder.is_dir():
                layout = _match_layout(card, folder, scale)
                if layout is None:
                    # never fall through to another copy: the user would score data they
                    # did not mean, and this folder's problem would go unnoticed
                    expected = "; ".join(
                        " + ".join(t for t in (lay.hr, lay.lr) if t) for lay in card.layouts
                    )
                    raise DataError(
                        f"{folder} holds none of {card.name}'s layouts at x{scale} (expected "
                        f"{_fill(expected, scale=scale, view=(card.layouts[0].views or ('',))[0])}"
                        "); fix the folder or move it away"
                    )
                return Dataset(
                    card,
                    folder,
                    layout,
                    scale,
                    lr_mode=lr_mode,
                    rounding=rounding,
                    label=f"{label}/{sub}",
                )
    looked = f"looked in {', '.join(tried[:4])}{', ...' if len(tried) > 4 else ''}"
    if use_hub and card.hub is not None and card.hub.revision is not None:
        try:
            folder = hub_snapshot(card)
        except MissingDataError as exc:
            raise MissingDataError(f"dataset {card.name} not found ({looked}); {exc}") from None
        return _open_hub(card, folder, scale, lr_mode=lr_mode, rounding=rounding)
    raise MissingDataError(f"dataset {card.name} not found ({looked}); {_put_it_locally(card)}")


def _open_hub(card: Card, folder: Path, scale: int, *, lr_mode: str, rounding: str) -> Dataset:
    """The Dataset of a Hub snapshot: parquet tables and archives first written to the cache."""
    import huggingface_hub.constants as hfc

    from repro.paths import cache_dir

    hub: HubSource = card.hub  # type: ignore[assignment]
    commit = _snapshot_commit(card, folder)
    for layout in card.layouts:
        if layout.parquet:
            folder = materialise_parquet(card, layout, folder)
            break
    else:
        folder = extract_archives(card, folder)
    bases = [("<repro-cache>", cache_dir()), ("<hf-cache>", Path(hfc.HF_HUB_CACHE))]
    layout = _match_layout(card, folder, scale)
    if layout is None:
        raise DataError(
            f"{card.name}: the Hub snapshot {_label(folder, bases)} matches none of the card's "
            "layouts; put the set in a local folder (--data-root)"
        )
    return Dataset(
        card,
        folder,
        layout,
        scale,
        lr_mode=lr_mode,
        rounding=rounding,
        origin=f"hub:{hub.repo}@{commit}",
        label=_label(folder, bases),
    )
