"""Hostile and careless inputs against the repro CLI, each in a fresh temporary sandbox.

The project's promise for bad input: exit code 2, exactly one line on stderr (no traceback),
and nothing written to the results/reports folders. A few cases expect something else (a
``--limit`` run exits 0 and writes only under ``results/partial/``; a killed run resumes from the
cache; ...); each case encodes its own expectation. Expectations state the promise, not what the
code happens to do today: a FAIL is a finding.

Every case runs ``python -m repro ...`` (or ``python -m repro.table ...``) with ``REPRO_RESULTS``,
``REPRO_REPORTS``, ``REPRO_CACHE``, ``HF_HOME`` and the working directory inside its own sandbox,
``HF_HUB_OFFLINE=1``, and every proxy and the Hub endpoint pointed at a closed port on 127.0.0.1,
so no case can reach the network. Files under ``results/.cache`` (per-image rows, kept on
purpose so an interrupted run resumes) and ``results/.locks`` are not counted as "written".

Run by hand (stdlib, numpy and PIL only, besides the project itself)::

    . .venv/bin/activate
    python benchmarks/hostile_cases.py            # every case; writes benchmarks/hostile_cases.md
    python benchmarks/hostile_cases.py -k weights # only cases whose id contains 'weights'
    python benchmarks/hostile_cases.py --list     # the case ids
    python benchmarks/hostile_cases.py --keep     # keep the sandboxes (their path is printed)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import pickle
import platform
import re
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REPRO_SHARED") or REPO.parent / "shared").resolve()
SET5 = SHARED / "data" / "Set5"
CAMIXER_S = SHARED / "weights" / "camixersr" / "CAMixerSR_S.pth"
PY = sys.executable
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, every request is refused
MD_PATH = Path(__file__).with_suffix(".md")
SET5_REV = "bcb97ac28c8a5f9113825f8d163564e16513f3ed"  # datasets/Set5.yaml source.hub.revision
FLICKR_REV = "cc4b630"  # datasets/Flickr1024.yaml source.hub.revision (abbreviated on purpose)
FLICKR_FULL = FLICKR_REV + "0" * (40 - len(FLICKR_REV))  # any full hash it "resolves" to


class SetupError(Exception):
    """The case could not be prepared: a problem of this script, not of the project."""


# ----------------------------------------------------------------------------- running


@dataclass
class Run:
    args: list[str]
    rc: int | None  # None: timed out (killed)
    stdout: str
    stderr: str
    seconds: float
    before: dict = field(default_factory=dict)  # sandbox snapshot taken just before the run
    env_shown: list[str] = field(default_factory=list)  # the case's own environment settings
    root: str = ""  # the sandbox, shown as $SB

    @property
    def lines(self) -> list[str]:
        """stderr as a terminal shows it: progress bars redraw a line with '\\r'."""
        text = self.stderr.replace(self.root, "$SB") if self.root else self.stderr
        shown = [seg.split("\r")[-1] for seg in text.split("\n")]
        return [s for s in shown if s.strip()]

    def shown(self, width: int = 120) -> str:
        if self.exception():
            return f"Traceback ... {self.exception()}"[:width]
        return " | ".join(self.lines)[:width]

    def exception(self) -> str:
        """The last line of a traceback (the exception), or ''."""
        if "Traceback" not in self.stderr:
            return ""
        tail = [s for s in self.lines if not s.startswith((" ", "Traceback"))]
        return tail[-1] if tail else ""

    def command(self) -> str:
        env = " ".join(self.env_shown) + " " if self.env_shown else ""
        args = " ".join(_quote(a) for a in self.args)
        return env + "python -m " + (args.replace(self.root, "$SB") if self.root else args)


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w./:=,@+-]+", arg) else repr(arg)


class Sandbox:
    """A temporary folder with its own results, reports, caches, HF home and working dir."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.res, self.rep, self.cache = root / "results", root / "reports", root / "cache"
        self.hf, self.work, self.inp = root / "hf", root / "work", root / "in"
        self.empty = root / "empty"  # an existing, empty folder (e.g. for REPRO_SHARED)
        for d in (self.work, self.inp, self.empty):
            d.mkdir(parents=True, exist_ok=True)
        self.env_extra: dict[str, str] = {}
        self.unset: set[str] = set()

    # the environment every case starts from: everything inside the sandbox, no network
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        drop = ("REPRO_", "HF_", "HUGGINGFACE", "TRANSFORMERS_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        for k in list(env):
            if k.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
                del env[k]
        env.update(
            REPRO_RESULTS=str(self.res),
            REPRO_REPORTS=str(self.rep),
            REPRO_CACHE=str(self.cache),
            HF_HOME=str(self.hf),
            HF_HUB_OFFLINE="1",
            HF_DATASETS_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_ENDPOINT=CLOSED,
            http_proxy=CLOSED,
            https_proxy=CLOSED,
            all_proxy=CLOSED,
            HTTP_PROXY=CLOSED,
            HTTPS_PROXY=CLOSED,
            ALL_PROXY=CLOSED,
            no_proxy="127.0.0.1,localhost",
            NO_PROXY="127.0.0.1,localhost",
            PYTHONDONTWRITEBYTECODE="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            MPLBACKEND="Agg",
            MPLCONFIGDIR=str(self.root / "mpl"),
            XDG_CACHE_HOME=str(self.root / "xdg"),
            TORCH_HOME=str(self.root / "torch"),
        )
        env.update(self.env_extra)
        env.update(extra or {})
        for k in self.unset:
            env.pop(k, None)
        return env

    def argv(self, args: list[str], module: str) -> list[str]:
        return [PY, "-m", module, *args]

    def run(
        self,
        *args: str,
        module: str = "repro",
        env: dict[str, str] | None = None,
        timeout: float = 240,
    ) -> Run:
        before = self.snap()
        start = time.monotonic()
        try:
            out = subprocess.run(
                self.argv(list(args), module),
                cwd=self.work,
                env=self.env(env),
                capture_output=True,
                timeout=timeout,
            )
            rc, so, se = out.returncode, out.stdout, out.stderr
        except subprocess.TimeoutExpired as exc:
            rc, so, se = None, exc.stdout or b"", exc.stderr or b""
        run = Run(
            [module, *args],
            rc,
            so.decode("utf-8", "backslashreplace"),
            se.decode("utf-8", "backslashreplace"),
            time.monotonic() - start,
            before,
        )
        shown = {**self.env_extra, **(env or {})}
        run.env_shown = [f"{k}={_short(v, self.root)}" for k, v in shown.items()]
        run.root = str(self.root)
        return run

    def popen(self, *args: str, module: str = "repro", env=None) -> subprocess.Popen:
        return subprocess.Popen(
            self.argv(list(args), module),
            cwd=self.work,
            env=self.env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    # what a run may not change: results, reports (minus the cache and locks) and the cwd
    def snap(self) -> dict[str, tuple[int, str]]:
        out: dict[str, tuple[int, str]] = {}
        for base in (self.res, self.rep, self.work):
            if not base.is_dir():
                if base.exists():
                    out[_short(str(base), self.root)] = (-1, "not a folder")
                continue
            for path in base.rglob("*"):
                rel = path.relative_to(self.root)
                if rel.parts[:2] in (("results", ".cache"), ("results", ".locks")):
                    continue
                if path.is_file() and not path.is_symlink():
                    out[str(rel)] = (path.stat().st_size, _sha(path))
        return out

    def written(self, before: dict, only: Callable[[str], bool] | None = None) -> list[str]:
        after = self.snap()
        changed = sorted(k for k, v in after.items() if before.get(k) != v)
        removed = sorted(f"-{k}" for k in before if k not in after)
        return [k for k in changed + removed if only is None or only(k)]


def _short(value: str, root: Path) -> str:
    return str(value).replace(str(root), "$SB")


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------- verdicts


@dataclass
class Verdict:
    ok: bool
    run: Run | None
    note: str = ""


def _problems_error(sb: Sandbox, r: Run, needles=(), forbid=(), allow_written=None) -> list[str]:
    p = []
    if r.rc is None:
        p.append(f"timed out after {r.seconds:.0f} s")
    elif r.rc != 2:
        p.append(f"exit {r.rc}, expected 2")
    if "Traceback" in r.stderr:
        p.append("traceback on stderr")
    if len(r.lines) != 1:
        p.append(f"{len(r.lines)} lines on stderr, expected 1")
    low = r.stderr.lower()
    p += [f"stderr lacks {n!r}" for n in needles if n.lower() not in low]
    p += [f"stderr says {f!r}" for f in forbid if f.lower() in low]
    written = sb.written(r.before)
    if allow_written is not None:
        written = [w for w in written if not allow_written(w)]
    if written:
        p.append("wrote " + ", ".join(written[:3]) + (" ..." if len(written) > 3 else ""))
    return p


def error(sb: Sandbox, r: Run, *needles: str, forbid=(), allow_written=None) -> Verdict:
    """The promise: exit 2, one line on stderr, no traceback, nothing written."""
    p = _problems_error(sb, r, needles, forbid, allow_written)
    return Verdict(not p, r, "; ".join(p))


def ok(sb: Sandbox, r: Run, *stdout_needles: str, json_out: bool = False) -> Verdict:
    """A run that must succeed: exit 0, no traceback."""
    p = []
    if r.rc != 0:
        p.append(f"exit {r.rc}, expected 0" if r.rc is not None else "timed out")
    if "Traceback" in r.stderr:
        p.append("traceback on stderr")
    p += [f"stdout lacks {n!r}" for n in stdout_needles if n not in r.stdout]
    if json_out and r.rc == 0:
        try:
            json.loads(r.stdout)
        except ValueError as exc:
            p.append(f"stdout is not one JSON document ({exc})")
    return Verdict(not p, r, "; ".join(p))


def clean(sb: Sandbox, r: Run) -> Verdict:
    """Either outcome is acceptable, as long as it is clean: exit 0, or the error promise."""
    if r.rc == 0 and "Traceback" not in r.stderr:
        return Verdict(True, r, "exit 0 (accepted)")
    p = _problems_error(sb, r)
    return Verdict(not p, r, "; ".join(p))


def combine(v: Verdict, *extra: str) -> Verdict:
    notes = [n for n in (v.note, *extra) if n and n != "exit 0 (accepted)"]
    return Verdict(v.ok and not [e for e in extra if e], v.run, "; ".join(notes))


# ----------------------------------------------------------------------------- case registry


@dataclass
class Case:
    id: str
    group: str
    fn: Callable[[Sandbox], Verdict]
    what: str


CASES: list[Case] = []


def case(cid: str, group: str):
    def deco(fn):
        doc = " ".join((fn.__doc__ or "").split())
        CASES.append(Case(cid, group, fn, doc))
        return fn

    return deco


# ----------------------------------------------------------------------------- inputs


def png(path: Path, w: int = 48, h: int = 48, mode: str = "RGB", seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    chans = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
    arr = rng.integers(0, 256, size=(h, w, chans), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr[:, :, 0] if chans == 1 else arr, mode).save(path)
    return path


def noisy_copy(src: Path, dst: Path, seed: int = 1) -> Path:
    arr = np.asarray(Image.open(src).convert("RGB")).astype(np.int16)
    arr = arr + np.random.default_rng(seed).integers(-3, 4, size=arr.shape)
    dst.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(dst)
    return dst


def bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A small valid PNG whose IHDR claims width x height, with a recomputed CRC."""
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    if data[12:16] != b"IHDR":
        raise SetupError("PIL wrote a PNG without IHDR first")
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def copy_set5(sb: Sandbox) -> Path:
    root = sb.root / "data"
    shutil.copytree(SET5, root / "Set5")
    return root


def copy_cards(sb: Sandbox, edit: Callable[[str], str] | None = None, name="Set5") -> Path:
    folder = sb.root / "cards"
    shutil.copytree(REPO / "datasets", folder, ignore=shutil.ignore_patterns("README.md"))
    if edit is not None:
        path = folder / f"{name}.yaml"
        old = path.read_text(encoding="utf-8")
        new = edit(old)
        if new == old:
            raise SetupError(f"the edit of {name}.yaml changed nothing")
        path.write_text(new, encoding="utf-8")
    sb.env_extra["REPRO_CARDS"] = str(folder)
    return folder


def replace1(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        if old not in text:
            raise SetupError(f"{old!r} not found in the card")
        return text.replace(old, new, 1)

    return edit


def without_sha(text: str) -> str:
    return re.sub(r"^sha256:\n(?:[ \t].*\n?)*", "", text, flags=re.M)


def spec_version(table: str) -> int:
    text = (REPO / "repro" / "tables" / "specs" / f"{table}.yaml").read_text(encoding="utf-8")
    found = re.search(r"^\s+version:\s*(\d+)", text, flags=re.M)
    if not found:
        raise SetupError(f"no protocol version in the spec of {table}")
    return int(found.group(1))


def manifest_set(res: Path, table: str, files: dict[str, str], partial=False) -> None:
    """Write a manifest for ``table`` listing ``files`` (key -> path), sha256 as publish does."""
    digests = {key: _sha(Path(p)) for key, p in files.items()}
    folder = res / "partial" if partial else res
    meta = {"table": table, "protocol_version": spec_version(table), "partial": partial}
    (folder / f"{table}.manifest.json").write_text(json.dumps({**meta, "files": digests}))


def refresh_manifest(res: Path, table: str, key: str, path: Path) -> None:
    mpath = res / f"{table}.manifest.json"
    manifest = json.loads(mpath.read_text())
    if key not in manifest["files"]:
        raise SetupError(f"{key} not in the manifest of {table}")
    manifest["files"][key] = _sha(path)
    mpath.write_text(json.dumps(manifest, indent=1, sort_keys=True))


def manifest_consistent(res: Path, rep: Path, table: str, partial: bool) -> str:
    """'' if the published set matches its manifest, else what is wrong."""
    folder_res = res / "partial" if partial else res
    folder_rep = rep / "partial" if partial else rep
    mpath = folder_res / f"{table}.manifest.json"
    if not mpath.is_file():
        return f"no manifest {mpath.name}"
    files = json.loads(mpath.read_text()).get("files", {})
    for key, digest in files.items():
        kind, name = key.split(":", 1)
        path = (folder_rep if kind == "reports" else folder_res) / name
        if not path.is_file() or _sha(path) != digest:
            return f"{key} does not match the manifest"
    return ""


# ----------------------------------------------------------------------------- fixtures

_FIXTURES: dict[str, object] = {}
_FIX_LOCK = threading.Lock()
_FIX_ROOT: Path | None = None


def fixture(name: str, make: Callable[[Path], object]):
    """Build a fixture once (thread-safe); a failed build is remembered and re-raised."""
    with _FIX_LOCK:
        if name not in _FIXTURES:
            folder = (_FIX_ROOT or Path(tempfile.gettempdir())) / f"fixture-{name}"
            try:
                _FIXTURES[name] = make(folder)
            except Exception as exc:  # noqa: BLE001 - reported with every dependent case
                _FIXTURES[name] = SetupError(f"fixture {name}: {exc}")
        value = _FIXTURES[name]
    if isinstance(value, Exception):
        raise value
    return value


def _make_full(folder: Path) -> Path:
    """A complete run of bicubic_classic (Set5, Set14, B100 at x2/x3/x4) with its cache."""
    sb = Sandbox(folder)
    r = sb.run("bicubic_classic", module="repro.table", env={"OMP_NUM_THREADS": "2"}, timeout=600)
    if r.rc != 0:
        raise SetupError(f"the full bicubic_classic run failed ({r.rc}): {r.shown(300)}")
    return folder


def with_full_results(sb: Sandbox) -> None:
    """Copy a complete, published bicubic_classic run (results, cache, reports) into ``sb``."""
    src = Path(fixture("full", _make_full))
    shutil.copytree(src / "results", sb.res)
    shutil.copytree(src / "reports", sb.rep)


CKPT_SCRIPT = textwrap.dedent(
    """
    import sys, torch
    from repro.models import build
    out = sys.argv[1]
    torch.save(build("esc", "light", scale=2).state_dict(), f"{out}/esc_light_x2_flat.pth")
    cam = build("camixersr", "s", scale=4).state_dict()
    torch.save({"params": cam}, f"{out}/camixer_s_x4_key_params.pth")
    nan = {k: v.clone().fill_(float("nan")) if v.is_floating_point() else v
           for k, v in cam.items()}
    torch.save({"params_ema": nan}, f"{out}/camixer_s_x4_nan.pth")
    torch.save({"params": build("nafssr", "t", scale=2).state_dict()}, f"{out}/nafssr_t_x2.pth")
    torch.save({"params_ema": {"a": 1, "b": "x"}}, f"{out}/not_tensors.pth")
    """
)


def _make_ckpts(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        [PY, "-c", CKPT_SCRIPT, str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if out.returncode != 0:
        raise SetupError(f"making checkpoints failed: {out.stderr.strip()[-300:]}")
    return folder


def ckpt(name: str) -> Path:
    path = Path(fixture("ckpts", _make_ckpts)) / name
    if not path.is_file():
        raise SetupError(f"checkpoint fixture {name} missing")
    return path


# ============================================================================= cases: images
GOOD = "good.png"


def _pair(sb: Sandbox, dist: Path, *, metric="psnr", extra=()) -> Run:
    ref = png(sb.inp / GOOD)
    return sb.run("score", metric, "--ref", str(ref), "--dist", str(dist), *extra)


@case("img-truncated-png", "images")
def _(sb):
    """score psnr with a PNG cut in half as --dist"""
    data = png(sb.inp / "full.png").read_bytes()
    (sb.inp / "cut.png").write_bytes(data[: len(data) // 2])
    return error(sb, _pair(sb, sb.inp / "cut.png"))


@case("img-zero-byte", "images")
def _(sb):
    """score psnr with a zero-byte .png"""
    (sb.inp / "zero.png").write_bytes(b"")
    return error(sb, _pair(sb, sb.inp / "zero.png"))


@case("img-text-named-png", "images")
def _(sb):
    """score psnr with a text file named .png"""
    (sb.inp / "text.png").write_text("this is not an image\n")
    return error(sb, _pair(sb, sb.inp / "text.png"))


@case("img-bomb-ihdr", "images")
def _(sb):
    """score psnr with a PNG whose IHDR claims 100000x100000 (CRC recomputed)"""
    return error(sb, _pair(sb, bomb_png(sb.inp / "bomb.png")), "pixels")


@case("img-bomb-ihdr-niqe", "images")
def _(sb):
    """score niqe (no reference) with the decompression-bomb header"""
    return error(sb, sb.run("score", "niqe", "--dist", str(bomb_png(sb.inp / "bomb.png"))))


@case("img-float32-tiff", "images")
def _(sb):
    """score psnr with a float32 TIFF holding NaN and 0.5"""
    arr = np.full((48, 48), 0.5, np.float32)
    arr[3, 3] = np.nan
    Image.fromarray(arr).save(sb.inp / "float.tif")
    return error(sb, _pair(sb, sb.inp / "float.tif"))


@case("img-int32-tiff", "images")
def _(sb):
    """score psnr with a 32-bit integer TIFF (values -5 and 100000)"""
    arr = np.full((48, 48), 100_000, np.int32)
    arr[0, 0] = -5
    Image.fromarray(arr).save(sb.inp / "int32.tif")
    return error(sb, _pair(sb, sb.inp / "int32.tif"))


@case("img-1x1-ssim", "images")
def _(sb):
    """score ssim of two 1x1 images"""
    a, b = png(sb.inp / "a.png", 1, 1), png(sb.inp / "b.png", 1, 1, seed=2)
    return error(sb, sb.run("score", "ssim", "--ref", str(a), "--dist", str(b)))


@case("img-1x1-psnr-crop1", "images")
def _(sb):
    """score psnr of two 1x1 images with --crop 1 (nothing left)"""
    a, b = png(sb.inp / "a.png", 1, 1), png(sb.inp / "b.png", 1, 1, seed=2)
    return error(sb, sb.run("score", "psnr", "--ref", str(a), "--dist", str(b), "--crop", "1"))


@case("img-crop-larger-than-image", "images")
def _(sb):
    """score psnr of 48x48 images with --crop 64"""
    return error(sb, _pair(sb, png(sb.inp / "d.png", seed=3), extra=("--crop", "64")))


@case("img-lpips-16px", "images")
def _(sb):
    """score lpips of 16x16 images (below LPIPS's minimum size)"""
    a, b = png(sb.inp / "a.png", 16, 16), png(sb.inp / "b.png", 16, 16, seed=2)
    return error(sb, sb.run("score", "lpips", "--ref", str(a), "--dist", str(b)), "LPIPS")


@case("img-ssim-8px", "images")
def _(sb):
    """score ssim of 8x8 images (smaller than the 11x11 window)"""
    a, b = png(sb.inp / "a.png", 8, 8), png(sb.inp / "b.png", 8, 8, seed=2)
    return error(sb, sb.run("score", "ssim", "--ref", str(a), "--dist", str(b)), "11")


@case("img-niqe-tiny", "images")
def _(sb):
    """score niqe of a 20x20 image (NIQE works on 96x96 blocks)"""
    return error(sb, sb.run("score", "niqe", "--dist", str(png(sb.inp / "t.png", 20, 20))))


@case("img-size-mismatch", "images")
def _(sb):
    """score psnr of a 48x48 reference against a 40x44 image"""
    return error(sb, _pair(sb, png(sb.inp / "small.png", 40, 44, seed=2)))


@case("img-gray-vs-rgb", "images")
def _(sb):
    """score psnr --channel rgb of a gray reference against an RGB image (0 or a clean error)"""
    ref = png(sb.inp / "gray.png", mode="L")
    dist = png(sb.inp / "rgb.png", seed=2)
    return clean(
        sb, sb.run("score", "psnr", "--ref", str(ref), "--dist", str(dist), "--channel", "rgb")
    )


@case("img-folders-no-common-names", "images")
def _(sb):
    """score psnr of two folders whose file names differ"""
    png(sb.inp / "A" / "one.png")
    png(sb.inp / "B" / "two.png")
    r = sb.run("score", "psnr", "--ref", str(sb.inp / "A"), "--dist", str(sb.inp / "B"))
    return error(sb, r, "common")


@case("img-folders-empty", "images")
def _(sb):
    """score psnr of two empty folders"""
    (sb.inp / "A").mkdir()
    (sb.inp / "B").mkdir()
    return error(
        sb, sb.run("score", "psnr", "--ref", str(sb.inp / "A"), "--dist", str(sb.inp / "B"))
    )


@case("img-folder-with-one-corrupt", "images")
def _(sb):
    """score psnr of two folders: one good pair and one truncated file"""
    png(sb.inp / "A" / "x.png")
    noisy_copy(sb.inp / "A" / "x.png", sb.inp / "B" / "x.png")
    data = png(sb.inp / "A" / "y.png").read_bytes()
    (sb.inp / "B" / "y.png").write_bytes(data[:100])
    return error(
        sb, sb.run("score", "psnr", "--ref", str(sb.inp / "A"), "--dist", str(sb.inp / "B"))
    )


@case("img-ref-missing-full-reference", "images")
def _(sb):
    """score psnr without --ref"""
    return error(sb, sb.run("score", "psnr", "--dist", str(png(sb.inp / "d.png"))), "--ref")


@case("img-missing-file", "images")
def _(sb):
    """score psnr with a --dist that does not exist"""
    return error(sb, _pair(sb, sb.inp / "nope.png"))


@case("img-symlink-loop", "images")
def _(sb):
    """score psnr with --dist a symlink loop (a.png -> b.png -> a.png)"""
    os.symlink("loop_b.png", sb.inp / "loop_a.png")
    os.symlink("loop_a.png", sb.inp / "loop_b.png")
    return error(sb, _pair(sb, sb.inp / "loop_a.png"))


@case("img-symlink-loop-in-folder", "images")
def _(sb):
    """score psnr of two folders where the --dist copy of x.png is a symlink loop"""
    png(sb.inp / "A" / "x.png")
    (sb.inp / "B").mkdir()
    os.symlink("x.png", sb.inp / "B" / "x.png")
    return error(
        sb, sb.run("score", "psnr", "--ref", str(sb.inp / "A"), "--dist", str(sb.inp / "B"))
    )


@case("img-directory-named-png", "images")
def _(sb):
    """score psnr of folders where the --dist 'x.png' is a directory"""
    png(sb.inp / "A" / "x.png")
    (sb.inp / "B" / "x.png").mkdir(parents=True)
    return error(
        sb, sb.run("score", "psnr", "--ref", str(sb.inp / "A"), "--dist", str(sb.inp / "B"))
    )


@case("img-file-vs-folder", "images")
def _(sb):
    """score psnr with --ref a file and --dist a folder"""
    (sb.inp / "B").mkdir()
    return error(sb, _pair(sb, sb.inp / "B"), "folder")


NON_UTF8 = os.fsdecode(b"\xff\xfe-na\xefve.png")


@case("img-non-utf8-name-corrupt", "images")
def _(sb):
    """score psnr where --dist has a non-UTF-8 file name and is not an image"""
    (sb.inp / NON_UTF8).write_bytes(b"garbage")
    return error(sb, _pair(sb, sb.inp / NON_UTF8))


@case("img-non-utf8-name-folders", "images")
def _(sb):
    """score psnr of two folders holding a valid image with a non-UTF-8 name (must exit 0)"""
    png(sb.inp / "A" / NON_UTF8)
    noisy_copy(sb.inp / "A" / NON_UTF8, sb.inp / "B" / NON_UTF8)
    return ok(sb, sb.run("score", "psnr", "--ref", str(sb.inp / "A"), "--dist", str(sb.inp / "B")))


@case("img-non-utf8-name-folders-json", "images")
def _(sb):
    """score psnr --json of folders with a non-UTF-8 name: exit 0, one JSON document"""
    png(sb.inp / "A" / NON_UTF8)
    noisy_copy(sb.inp / "A" / NON_UTF8, sb.inp / "B" / NON_UTF8)
    r = sb.run("score", "psnr", "--ref", str(sb.inp / "A"), "--dist", str(sb.inp / "B"), "--json")
    return ok(sb, r, json_out=True)


@case("img-unknown-metric", "images")
def _(sb):
    """score psnrr (a typo)"""
    return error(sb, _pair(sb, png(sb.inp / "d.png"), metric="psnrr"), "psnr")


@case("img-fid-without-pyiqa", "images")
def _(sb):
    """score fid of two folders (pyiqa is not installed here: a clean refusal, or a value)"""
    for i in range(2):
        png(sb.inp / "A" / f"{i}.png", 64, 64, seed=i)
        png(sb.inp / "B" / f"{i}.png", 64, 64, seed=10 + i)
    return clean(
        sb, sb.run("score", "fid", "--ref", str(sb.inp / "A"), "--dist", str(sb.inp / "B"))
    )


@case("img-dists-without-pyiqa", "images")
def _(sb):
    """score dists of an image pair (pyiqa not installed: a clean refusal, or a value)"""
    return clean(sb, _pair(sb, png(sb.inp / "d.png", seed=4), metric="dists"))


@case("img-lpips-no-weights", "images")
def _(sb):
    """score lpips with REPRO_SHARED pointing at an empty folder (no LPIPS weights)"""
    sb.env_extra["REPRO_SHARED"] = str(sb.empty)
    a, b = png(sb.inp / "a.png", 64, 64), png(sb.inp / "b.png", 64, 64, seed=2)
    return error(sb, sb.run("score", "lpips", "--ref", str(a), "--dist", str(b)), "lpips")


@case("img-identical-json", "images")
def _(sb):
    """score psnr --json of an image against itself (PSNR +inf): exit 0, valid JSON"""
    a = png(sb.inp / "a.png")
    return ok(
        sb, sb.run("score", "psnr", "--ref", str(a), "--dist", str(a), "--json"), json_out=True
    )


# ============================================================================= cases: datasets


def _verify(sb: Sandbox, root: Path | None, *extra: str) -> Run:
    args = ["verify", "Set5", *extra]
    if root is not None:
        args += ["--data-root", str(root)]
    return sb.run(*args)


@case("ds-sha256-mismatch", "datasets")
def _(sb):
    """verify Set5 --data-root D where D/Set5/HR/baby.png has one byte changed"""
    root = copy_set5(sb)
    p = root / "Set5" / "HR" / "baby.png"
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    return error(sb, _verify(sb, root), "checksum")


@case("ds-sha256-mismatch-table", "datasets")
def _(sb):
    """repro.table bicubic_classic --datasets Set5 --data-root D with a changed byte"""
    root = copy_set5(sb)
    p = root / "Set5" / "LR_bicubic" / "X3" / "birdx3.png"
    data = bytearray(p.read_bytes())
    data[-20] ^= 0x01
    p.write_bytes(bytes(data))
    r = sb.run(
        "bicubic_classic", "--datasets", "Set5", "--data-root", str(root), module="repro.table"
    )
    return error(sb, r, "checksum")


@case("ds-extra-non-image-file", "datasets")
def _(sb):
    """verify Set5 with an extra notes.txt in the HR folder"""
    root = copy_set5(sb)
    (root / "Set5" / "HR" / "notes.txt").write_text("hello\n")
    return error(sb, _verify(sb, root), "notes.txt")


@case("ds-lr-of-wrong-scale", "datasets")
def _(sb):
    """verify Set5 --scale 2 where LR_bicubic/X2/babyx2.png holds the x3 file"""
    root = copy_set5(sb)
    lr = root / "Set5" / "LR_bicubic"
    shutil.copyfile(lr / "X3" / "babyx3.png", lr / "X2" / "babyx2.png")
    return error(sb, _verify(sb, root, "--scale", "2"))


@case("ds-lr-of-wrong-scale-no-sha", "datasets")
def _(sb):
    """eval bicubic x2 on Set5 whose X2 LR is the x3 file, with a card without sha256"""
    root = copy_set5(sb)
    copy_cards(sb, without_sha)
    lr = root / "Set5" / "LR_bicubic"
    shutil.copyfile(lr / "X3" / "babyx3.png", lr / "X2" / "babyx2.png")
    r = sb.run(
        "eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set5", "--data-root", str(root)
    )
    return error(sb, r, "scale")


@case("ds-hr-truncated-no-sha", "datasets")
def _(sb):
    """eval bicubic x2 on Set5 with a truncated HR image, card without sha256"""
    root = copy_set5(sb)
    copy_cards(sb, without_sha)
    p = root / "Set5" / "HR" / "bird.png"
    p.write_bytes(p.read_bytes()[:2000])
    r = sb.run(
        "eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set5", "--data-root", str(root)
    )
    return error(sb, r, "bird")


@case("ds-missing-lr-file", "datasets")
def _(sb):
    """verify Set5 --scale 2 with LR_bicubic/X2/babyx2.png deleted"""
    root = copy_set5(sb)
    (root / "Set5" / "LR_bicubic" / "X2" / "babyx2.png").unlink()
    return error(sb, _verify(sb, root, "--scale", "2"), "babyx2")


@case("ds-missing-hr-folder", "datasets")
def _(sb):
    """verify Set5 --data-root D without D/Set5/HR; REPRO_SHARED empty, Hub offline"""
    root = copy_set5(sb)
    shutil.rmtree(root / "Set5" / "HR")
    sb.env_extra["REPRO_SHARED"] = str(sb.empty)
    return error(sb, _verify(sb, root))


@case("ds-missing-hr-folder-falls-through", "datasets")
def _(sb):
    """verify Set5 --data-root D without D/Set5/HR, shared data present: must not verify another
    copy (../shared/data/Set5) in its place without a word"""
    root = copy_set5(sb)
    shutil.rmtree(root / "Set5" / "HR")
    return error(sb, _verify(sb, root))


@case("ds-data-root-missing", "datasets")
def _(sb):
    """verify Set5 --data-root a folder that does not exist"""
    return error(sb, _verify(sb, sb.root / "no-such-folder"), "no-such-folder")


@case("ds-data-root-is-a-file", "datasets")
def _(sb):
    """verify Set5 --data-root a regular file"""
    (sb.inp / "afile").write_text("x")
    return error(sb, _verify(sb, sb.inp / "afile"), "afile")


@case("ds-data-root-empty", "datasets")
def _(sb):
    """verify Set5 --data-root an empty folder, REPRO_SHARED empty, Hub offline"""
    sb.env_extra["REPRO_SHARED"] = str(sb.empty)
    return error(sb, _verify(sb, sb.empty), "--data-root")


@case("ds-repro-data-missing", "datasets")
def _(sb):
    """verify Set5 with REPRO_DATA pointing at a missing folder"""
    sb.env_extra["REPRO_DATA"] = str(sb.root / "gone")
    return error(sb, _verify(sb, None), "REPRO_DATA")


@case("ds-repro-data-empty-entries", "datasets")
def _(sb):
    """verify Set5 with REPRO_DATA=':' (only empty entries): shared data is used, exit 0"""
    sb.env_extra["REPRO_DATA"] = os.pathsep
    return ok(sb, _verify(sb, None))


@case("ds-set5-symlink-loop", "datasets")
def _(sb):
    """verify Set5 --data-root D where D/Set5 is a symlink to itself; no shared data"""
    root = sb.root / "data"
    root.mkdir()
    os.symlink("Set5", root / "Set5")
    sb.env_extra["REPRO_SHARED"] = str(sb.empty)
    return error(sb, _verify(sb, root))


@case("ds-card-layout-dotdot", "datasets")
def _(sb):
    """REPRO_CARDS with a Set5 card whose HR layout is '../HR/{name}.png'"""
    copy_cards(
        sb,
        replace1(
            "  hr: HR/{name}.png\n  lr: LR_bicubic", "  hr: ../HR/{name}.png\n  lr: LR_bicubic"
        ),
    )
    return error(sb, _verify(sb, None), "..")


@case("ds-card-local-dir-absolute", "datasets")
def _(sb):
    """REPRO_CARDS with a Set5 card whose local_dirs entry is /etc"""
    copy_cards(sb, replace1("local_dirs:\n- Set5\n", "local_dirs:\n- /etc\n"))
    return error(sb, _verify(sb, None))


@case("ds-card-malformed-yaml", "datasets")
def _(sb):
    """REPRO_CARDS with a Set5 card that is not valid YAML"""
    copy_cards(sb, replace1("scales:\n", "scales: [2, 3\nbroken: {\n"))
    return error(sb, _verify(sb, None), "YAML")


@case("ds-card-malformed-other-card", "datasets")
def _(sb):
    """verify Set5 while another card (Set14) is malformed YAML: works, or says which card"""
    copy_cards(sb, replace1("scales:\n", "scales: [2, 3\n"), name="Set14")
    r = _verify(sb, None)
    v = clean(sb, r)
    if r.rc == 2 and "Set14" not in r.stderr:
        return combine(v, "the error does not name the broken card Set14")
    return v


@case("ds-card-not-utf8", "datasets")
def _(sb):
    """REPRO_CARDS with a Set5 card holding a non-UTF-8 byte"""
    folder = copy_cards(sb)
    p = folder / "Set5.yaml"
    p.write_bytes(p.read_bytes().replace(b"5 images", b"5 \xff images", 1))
    return error(sb, _verify(sb, None), "Set5")


@case("ds-card-empty-file", "datasets")
def _(sb):
    """REPRO_CARDS with an empty Set5.yaml"""
    folder = copy_cards(sb)
    (folder / "Set5.yaml").write_text("")
    return error(sb, _verify(sb, None), "Set5")


@case("ds-card-scales-not-numbers", "datasets")
def _(sb):
    """REPRO_CARDS with a Set5 card whose scales hold 'two'"""
    copy_cards(sb, replace1("scales:\n- 2\n", "scales:\n- two\n"))
    return error(sb, _verify(sb, None), "Set5")


@case("ds-card-sha256-not-a-mapping", "datasets")
def _(sb):
    """REPRO_CARDS with a Set5 card whose sha256 is a string"""
    copy_cards(sb, lambda t: without_sha(t) + "sha256: abc\n")
    return error(sb, _verify(sb, None), "Set5")


@case("ds-card-hub-without-repo", "datasets")
def _(sb):
    """REPRO_CARDS with a Set5 card whose source.hub lacks 'repo'"""
    copy_cards(sb, replace1("    repo: eugenesiow/Set5\n", ""))
    return error(sb, _verify(sb, None), "Set5")


@case("ds-card-exclude-a-list", "datasets")
def _(sb):
    """REPRO_CARDS with a Set5 card whose exclude is a list, not a mapping"""
    copy_cards(sb, lambda t: t + "exclude:\n- baby\n")
    return error(sb, _verify(sb, None), "Set5")


@case("ds-card-images-not-a-number", "datasets")
def _(sb):
    """REPRO_CARDS with a Set5 card saying images: five"""
    copy_cards(sb, replace1("images: 5\n", "images: five\n"))
    return error(sb, _verify(sb, None), "Set5")


@case("ds-card-layouts-a-string", "datasets")
def _(sb):
    """REPRO_CARDS with a Set5 card whose layouts is a string"""
    copy_cards(sb, lambda t: re.sub(r"^layouts:\n(?:[- ].*\n)*", "layouts: HR\n", t, flags=re.M))
    return error(sb, _verify(sb, None), "Set5")


@case("ds-cards-folder-missing", "datasets")
def _(sb):
    """verify Set5 with REPRO_CARDS pointing at a missing folder"""
    sb.env_extra["REPRO_CARDS"] = str(sb.root / "no-cards")
    return error(sb, _verify(sb, None))


@case("ds-unknown-dataset", "datasets")
def _(sb):
    """verify Set6"""
    return error(sb, sb.run("verify", "Set6"), "Set5")


@case("ds-verify-scale-0", "datasets")
def _(sb):
    """verify Set5 --scale 0"""
    return error(sb, _verify(sb, None, "--scale", "0"))


@case("ds-verify-scale-7", "datasets")
def _(sb):
    """verify Set5 --scale 7 (not a scale of the card)"""
    return error(sb, _verify(sb, None, "--scale", "7"), "x7")


NO_DATA_NEEDLES = ("--data-root", "REPRO_DATA", "REPRO_SHARED")


@case("ds-no-data-anywhere-table", "datasets")
def _(sb):
    """repro.table bicubic_classic with REPRO_SHARED empty: exit 2 within seconds, naming
    --data-root, REPRO_DATA and REPRO_SHARED"""
    sb.env_extra["REPRO_SHARED"] = str(sb.empty)
    r = sb.run("bicubic_classic", module="repro.table", timeout=120)
    v = error(sb, r, *NO_DATA_NEEDLES)
    return combine(v, f"took {r.seconds:.0f} s" if r.seconds > 20 else "")


@case("ds-no-data-anywhere-eval", "datasets")
def _(sb):
    """eval bicubic x2 on Set5 with REPRO_SHARED empty (no data anywhere)"""
    sb.env_extra["REPRO_SHARED"] = str(sb.empty)
    r = sb.run("eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set5", timeout=120)
    v = error(sb, r, *NO_DATA_NEEDLES)
    return combine(v, f"took {r.seconds:.0f} s" if r.seconds > 20 else "")


@case("ds-no-data-anywhere-verify", "datasets")
def _(sb):
    """verify Set14 with REPRO_SHARED empty (no data anywhere)"""
    sb.env_extra["REPRO_SHARED"] = str(sb.empty)
    return error(sb, sb.run("verify", "Set14", timeout=120), *NO_DATA_NEEDLES)


# ============================================================================= cases: hub


def hub_snapshot(sb: Sandbox, repo: str, commit: str, ref: str | None = None) -> Path:
    folder = sb.hf / "hub" / f"datasets--{repo.replace('/', '--')}"
    snap = folder / "snapshots" / commit
    snap.mkdir(parents=True)
    if ref:
        (folder / "refs").mkdir(parents=True)
        (folder / "refs" / ref).write_text(commit)
    sb.env_extra["REPRO_SHARED"] = str(sb.empty)  # the set is found nowhere else
    return snap


def tar_gz(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def set5_tarballs(snap: Path, hr_extra=(), scales=(2,)) -> None:
    hr = [file_member(f"Set5_HR/{p.name}", p.read_bytes()) for p in sorted((SET5 / "HR").iterdir())]
    tar_gz(snap / "data" / "Set5_HR.tar.gz", hr + list(hr_extra))
    for s in scales:
        lr = [
            file_member(f"Set5_LR_x{s}/{p.name.replace(f'x{s}.png', '.png')}", p.read_bytes())
            for p in sorted((SET5 / "LR_bicubic" / f"X{s}").iterdir())
        ]
        tar_gz(snap / "data" / f"Set5_LR_x{s}.tar.gz", lr)


@case("hub-set5-archives-good", "hub")
def _(sb):
    """verify Set5 --scale 2 from a hand-made offline HF cache (eugenesiow tarballs): exit 0"""
    set5_tarballs(hub_snapshot(sb, "eugenesiow/Set5", SET5_REV))
    return ok(sb, sb.run("verify", "Set5", "--scale", "2"), "all good")


@case("hub-set5-tar-traversal", "hub")
def _(sb):
    """offline HF cache whose Set5_HR.tar.gz holds '../../escaped.png'"""
    snap = hub_snapshot(sb, "eugenesiow/Set5", SET5_REV)
    set5_tarballs(snap, hr_extra=[file_member("../../escaped.png", b"x")])
    r = sb.run("verify", "Set5", "--scale", "2")
    escaped = [str(p) for p in sb.root.rglob("escaped.png")]
    return combine(error(sb, r, "outside"), f"wrote {escaped}" if escaped else "")


@case("hub-set5-tar-symlink", "hub")
def _(sb):
    """offline HF cache whose Set5_HR.tar.gz holds a symlink to /etc/passwd"""
    link = tarfile.TarInfo("Set5_HR/passwd.png")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    set5_tarballs(hub_snapshot(sb, "eugenesiow/Set5", SET5_REV), hr_extra=[(link, None)])
    return error(sb, sb.run("verify", "Set5", "--scale", "2"), "link")


@case("hub-set5-tar-corrupt", "hub")
def _(sb):
    """offline HF cache whose Set5_HR.tar.gz is garbage"""
    snap = hub_snapshot(sb, "eugenesiow/Set5", SET5_REV)
    (snap / "data").mkdir()
    (snap / "data" / "Set5_HR.tar.gz").write_bytes(b"\x1f\x8b" + os.urandom(200))
    return error(sb, sb.run("verify", "Set5", "--scale", "2"), "Set5_HR.tar.gz")


@case("hub-set5-tar-truncated-image", "hub")
def _(sb):
    """offline HF cache: valid tarballs, one HR image cut short; eval bicubic x2 on it"""
    snap = hub_snapshot(sb, "eugenesiow/Set5", SET5_REV)
    cut = (SET5 / "HR" / "bird.png").read_bytes()[:3000]
    hr = [
        file_member(f"Set5_HR/{p.name}", p.read_bytes() if p.name != "bird.png" else cut)
        for p in sorted((SET5 / "HR").iterdir())
    ]
    tar_gz(snap / "data" / "Set5_HR.tar.gz", hr)
    set5_lr = [
        file_member(f"Set5_LR_x2/{p.name.replace('x2.png', '.png')}", p.read_bytes())
        for p in sorted((SET5 / "LR_bicubic" / "X2").iterdir())
    ]
    tar_gz(snap / "data" / "Set5_LR_x2.tar.gz", set5_lr)
    r = sb.run("eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set5")
    return error(sb, r, "bird")


@case("hub-flickr1024-parquet-corrupt", "hub")
def _(sb):
    """verify Flickr1024 --scale 2 from an offline HF cache whose parquet file is garbage"""
    snap = hub_snapshot(sb, "ernestchu/flickr1024", FLICKR_FULL, ref=FLICKR_REV)
    (snap / "data").mkdir()
    (snap / "data" / "test-00000-of-00001.parquet").write_bytes(b"PAR1" + os.urandom(300))
    return error(sb, sb.run("verify", "Flickr1024", "--scale", "2"), "parquet")


@case("hub-flickr1024-parquet-missing-view", "hub")
def _(sb):
    """offline HF cache: a Flickr1024 parquet whose right image is null (needs pyarrow)"""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise SetupError("pyarrow is not installed: case skipped") from None
    snap = hub_snapshot(sb, "ernestchu/flickr1024", FLICKR_FULL, ref=FLICKR_REV)
    (snap / "data").mkdir()
    img = png(sb.inp / "l.png", 64, 32).read_bytes()
    struct_t = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table(
        {
            "left_image": pa.array([{"bytes": img, "path": "l.png"}], type=struct_t),
            "right_image": pa.array([None], type=struct_t),
        }
    )
    pq.write_table(table, snap / "data" / "test-00000-of-00001.parquet")
    return error(sb, sb.run("verify", "Flickr1024", "--scale", "2"))


# ============================================================================= cases: cli

EVAL_CAM = ["eval", "--model", "camixersr-s", "--scale", "4", "--dataset", "Set5", "--limit", "1"]
EVAL_BIC = ["eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set5", "--limit", "1"]


def _table(sb: Sandbox, *args: str, **kw) -> Run:
    return sb.run("bicubic_classic", *args, module="repro.table", **kw)


@case("cli-limit-0", "cli")
def _(sb):
    """repro.table bicubic_classic --limit 0"""
    return error(sb, _table(sb, "--limit", "0"), "--limit")


@case("cli-limit-negative", "cli")
def _(sb):
    """repro.table bicubic_classic --limit -1"""
    return error(sb, _table(sb, "--limit", "-1"), "--limit")


@case("cli-limit-abc", "cli")
def _(sb):
    """repro.table bicubic_classic --limit abc"""
    return error(sb, _table(sb, "--limit", "abc"), "--limit")


@case("cli-seed-abc", "cli")
def _(sb):
    """repro.table bicubic_classic --seed abc"""
    return error(sb, _table(sb, "--seed", "abc"), "--seed")


@case("cli-datasets-unknown", "cli")
def _(sb):
    """repro.table bicubic_classic --datasets Set6"""
    return error(sb, _table(sb, "--datasets", "Set6"), "Set6")


@case("cli-datasets-no-value", "cli")
def _(sb):
    """repro.table bicubic_classic --datasets (no name)"""
    return error(sb, _table(sb, "--datasets"), "--datasets")


@case("cli-json-error-keeps-stdout-empty", "cli")
def _(sb):
    """repro.table bicubic_classic --datasets Set6 --json: the error leaves stdout empty"""
    r = _table(sb, "--datasets", "Set6", "--json")
    return combine(error(sb, r), f"stdout holds {r.stdout[:60]!r}" if r.stdout.strip() else "")


@case("cli-set-unclosed-list", "cli")
def _(sb):
    """eval camixersr-s --set 'ratio=[1'"""
    return error(sb, sb.run(*EVAL_CAM, "--set", "ratio=[1"), "ratio")


@case("cli-set-no-equals", "cli")
def _(sb):
    """eval camixersr-s --set noequals"""
    return error(sb, sb.run(*EVAL_CAM, "--set", "noequals"), "KEY=VALUE")


@case("cli-set-unknown-key", "cli")
def _(sb):
    """eval camixersr-s --set unknown_key=1"""
    return error(sb, sb.run(*EVAL_CAM, "--set", "unknown_key=1"), "unknown_key")


@case("cli-set-empty-key", "cli")
def _(sb):
    """eval camixersr-s --set =0.5"""
    return error(sb, sb.run(*EVAL_CAM, "--set", "=0.5"))


@case("cli-set-ratio-not-a-number", "cli")
def _(sb):
    """eval camixersr-s --set ratio=abc"""
    return error(sb, sb.run(*EVAL_CAM, "--set", "ratio=abc"), "ratio")


@case("cli-set-ratio-a-list", "cli")
def _(sb):
    """eval camixersr-s --set 'ratio=[0.5]'"""
    return error(sb, sb.run(*EVAL_CAM, "--set", "ratio=[0.5]"), "ratio")


@case("cli-set-mode-bogus", "cli")
def _(sb):
    """eval camixersr-s --set mode=bogus"""
    return error(sb, sb.run(*EVAL_CAM, "--set", "mode=bogus"), "mode")


@case("cli-set-bicubic-method-bogus", "cli")
def _(sb):
    """eval bicubic --set method=bogus"""
    return error(sb, sb.run(*EVAL_BIC, "--set", "method=bogus"), "method")


@case("cli-set-bicubic-rounding-bogus", "cli")
def _(sb):
    """eval bicubic --set rounding=bogus"""
    return error(sb, sb.run(*EVAL_BIC, "--set", "rounding=bogus"), "rounding")


@case("cli-device-cuda", "cli")
def _(sb):
    """repro.table bicubic_classic --device cuda on a machine without CUDA"""
    try:
        import torch  # noqa: F401 - only to know whether a GPU is visible here

        if torch.cuda.is_available():
            raise SetupError("this machine has a GPU: case skipped")
    except ImportError:
        pass
    return error(sb, _table(sb, "--device", "cuda"), "--device")


@case("cli-device-cuda-index-eval", "cli")
def _(sb):
    """eval bicubic --device cuda:7"""
    return error(sb, sb.run(*EVAL_BIC, "--device", "cuda:7"), "cuda")


@case("cli-device-tpu", "cli")
def _(sb):
    """repro.table bicubic_classic --device tpu"""
    return error(sb, _table(sb, "--device", "tpu"), "tpu")


@case("cli-device-empty", "cli")
def _(sb):
    """eval bicubic --device ''"""
    return error(sb, sb.run(*EVAL_BIC, "--device", ""), "device")


@case("cli-crop-negative", "cli")
def _(sb):
    """eval bicubic --crop -1"""
    return error(sb, sb.run(*EVAL_BIC, "--crop", "-1"), "--crop")


@case("cli-crop-huge", "cli")
def _(sb):
    """eval bicubic x2 on Set5 --crop 100000"""
    return error(sb, sb.run(*EVAL_BIC, "--crop", "100000"), "crop")


@case("cli-scale-0", "cli")
def _(sb):
    """eval bicubic --scale 0"""
    return error(
        sb, sb.run("eval", "--model", "bicubic", "--scale", "0", "--dataset", "Set5"), "--scale"
    )


@case("cli-scale-5", "cli")
def _(sb):
    """eval bicubic --scale 5 on Set5 (neither has x5)"""
    return error(
        sb, sb.run("eval", "--model", "bicubic", "--scale", "5", "--dataset", "Set5"), "x5"
    )


@case("cli-model-without-the-scale", "cli")
def _(sb):
    """eval esc-light --scale 8 on Set5 (Set5 has x8, esc-light does not)"""
    r = sb.run("eval", "--model", "esc-light", "--scale", "8", "--dataset", "Set5", "--limit", "1")
    return error(sb, r, "x8")


@case("cli-unknown-table", "cli")
def _(sb):
    """repro.table no_such_table"""
    return error(sb, sb.run("no_such_table", module="repro.table"), "no_such_table")


@case("cli-unknown-model", "cli")
def _(sb):
    """eval --model camixersr-xs"""
    r = sb.run("eval", "--model", "camixersr-xs", "--scale", "4", "--dataset", "Set5")
    return error(sb, r, "camixersr-xs")


@case("cli-unknown-ls-kind", "cli")
def _(sb):
    """ls widgets"""
    return error(sb, sb.run("ls", "widgets"), "widgets")


@case("cli-no-command", "cli")
def _(sb):
    """python -m repro (no command)"""
    return error(sb, sb.run())


@case("cli-validate-unknown-table", "cli")
def _(sb):
    """validate no_such_table"""
    return error(sb, sb.run("validate", "no_such_table"), "no_such_table")


@case("cli-validate-missing-data-root", "cli")
def _(sb):
    """validate bicubic_classic --data-root a missing folder"""
    return error(
        sb, sb.run("validate", "bicubic_classic", "--data-root", str(sb.root / "gone")), "gone"
    )


@case("cli-report-unknown-table", "cli")
def _(sb):
    """report no_such_table"""
    return error(sb, sb.run("report", "no_such_table"), "no_such_table")


@case("cli-report-never-run", "cli")
def _(sb):
    """report bicubic_classic in an empty results folder"""
    return error(sb, sb.run("report", "bicubic_classic"), "bicubic_classic")


@case("cli-stereo-model-on-single-images", "cli")
def _(sb):
    """eval nafssr-t x2 (a stereo model, random weights via --weights) on Set5"""
    r = sb.run(
        "eval",
        "--model",
        "nafssr-t",
        "--scale",
        "2",
        "--dataset",
        "Set5",
        "--limit",
        "1",
        "--weights",
        str(ckpt("nafssr_t_x2.pth")),
        "--weights-key",
        "params",
    )
    return error(sb, r)


@case("cli-single-image-model-on-stereo", "cli")
def _(sb):
    """eval camixersr-s x4 (a single-image model) on the stereo set KITTI2012"""
    r = sb.run(
        "eval", "--model", "camixersr-s", "--scale", "4", "--dataset", "KITTI2012", "--limit", "1"
    )
    return error(sb, r)


# ============================================================================= cases: reports


def _other_broken(sb: Sandbox, text: str, *, manifest: bool) -> Verdict:
    """esc_main's saved set is broken; report bicubic_classic and the index must still work."""
    with_full_results(sb)
    cells = sb.res / "esc_main.cells.json"
    cells.write_text(text)
    if manifest:
        prov = sb.res / "esc_main.provenance.json"
        prov.write_text(json.dumps({"table": "esc_main"}))
        manifest_set(
            sb.res,
            "esc_main",
            {"results:esc_main.cells.json": cells, "results:esc_main.provenance.json": prov},
        )
    one = sb.run("report", "bicubic_classic")
    v = ok(sb, one, "bicubic_classic.md")
    if not v.ok:
        return v
    return combine(ok(sb, sb.run("report"), "index.md"), "")


@case("rep-other-table-truncated", "reports")
def _(sb):
    """report bicubic_classic and report, while esc_main.cells.json is truncated (no manifest)"""
    return _other_broken(sb, '{"table": "esc_main", "cells": [{"row": ', manifest=False)


@case("rep-other-table-truncated-manifest", "reports")
def _(sb):
    """as above, with a manifest that matches the truncated file"""
    return _other_broken(sb, '{"table": "esc_main", "cells": [{"row": ', manifest=True)


@case("rep-other-table-cells-wrong-shape", "reports")
def _(sb):
    """report bicubic_classic and report, esc_main cells = [1, "x"] with a matching manifest"""
    text = json.dumps(
        {"table": "esc_main", "protocol_version": spec_version("esc_main"), "cells": [1, "x"]}
    )
    return _other_broken(sb, text, manifest=True)


@case("rep-other-table-cells-wrong-types", "reports")
def _(sb):
    """report, esc_main cells with the right keys but strings for numbers (manifest matches)"""
    cell = {
        "row": "r",
        "label": "r",
        "dataset": "Set5",
        "metric": "psnr",
        "variant": None,
        "reported": "x",
        "reproduced": "y",
        "delta": "z",
        "status": "PASS",
        "reason": None,
    }
    text = json.dumps(
        {"table": "esc_main", "protocol_version": spec_version("esc_main"), "cells": [cell]}
    )
    return _other_broken(sb, text, manifest=True)


@case("rep-other-table-manifest-bad-key", "reports")
def _(sb):
    """report bicubic_classic and report, esc_main manifest lists a key without 'results:'"""
    with_full_results(sb)
    (sb.res / "esc_main.cells.json").write_text("{}")
    (sb.res / "esc_main.manifest.json").write_text(json.dumps({"files": {"esc_main.csv": "0"}}))
    v = ok(sb, sb.run("report", "bicubic_classic"), "bicubic_classic.md")
    return v if not v.ok else ok(sb, sb.run("report"), "index.md")


@case("rep-other-table-manifest-truncated", "reports")
def _(sb):
    """report (the index), esc_main.manifest.json cut short"""
    with_full_results(sb)
    (sb.res / "esc_main.manifest.json").write_text('{"files": {"results:esc')
    return ok(sb, sb.run("report"), "index.md")


@case("rep-asked-table-truncated", "reports")
def _(sb):
    """report bicubic_classic when its own cells.json is truncated (manifest mismatch)"""
    with_full_results(sb)
    p = sb.res / "bicubic_classic.cells.json"
    p.write_text(p.read_text()[:200])
    return error(sb, sb.run("report", "bicubic_classic"), "bicubic_classic")


@case("rep-asked-table-cell-edited", "reports")
def _(sb):
    """report bicubic_classic, a cell's 'reproduced' edited to "abc" (manifest updated)"""
    with_full_results(sb)
    p = sb.res / "bicubic_classic.cells.json"
    cells = json.loads(p.read_text())
    cells["cells"][0]["reproduced"] = "abc"
    p.write_text(json.dumps(cells, indent=1))
    refresh_manifest(sb.res, "bicubic_classic", "results:bicubic_classic.cells.json", p)
    return error(sb, sb.run("report", "bicubic_classic"))


@case("rep-asked-table-cells-a-dict", "reports")
def _(sb):
    """report bicubic_classic, cells.json 'cells' entries lack keys (manifest updated)"""
    with_full_results(sb)
    p = sb.res / "bicubic_classic.cells.json"
    cells = json.loads(p.read_text())
    cells["cells"] = [{"row": "bicubic-x2"}]
    p.write_text(json.dumps(cells, indent=1))
    refresh_manifest(sb.res, "bicubic_classic", "results:bicubic_classic.cells.json", p)
    return error(sb, sb.run("report", "bicubic_classic"))


@case("rep-asked-table-protocol-version", "reports")
def _(sb):
    """report bicubic_classic, saved protocol_version 999 (manifest updated)"""
    with_full_results(sb)
    p = sb.res / "bicubic_classic.cells.json"
    cells = json.loads(p.read_text())
    cells["protocol_version"] = 999
    p.write_text(json.dumps(cells, indent=1))
    refresh_manifest(sb.res, "bicubic_classic", "results:bicubic_classic.cells.json", p)
    return error(sb, sb.run("report", "bicubic_classic"), "999")


@case("rep-asked-table-csv-missing", "reports")
def _(sb):
    """report bicubic_classic after its CSV was deleted"""
    with_full_results(sb)
    (sb.res / "bicubic_classic.csv").unlink()
    return error(sb, sb.run("report", "bicubic_classic"), "bicubic_classic")


# ============================================================================= cases: weights


def _eval_weights(sb: Sandbox, path: Path | str, *extra: str) -> Run:
    return sb.run(*EVAL_CAM, "--weights", str(path), *extra)


@case("w-missing-file", "weights")
def _(sb):
    """eval camixersr-s --weights a missing file"""
    return error(sb, _eval_weights(sb, sb.inp / "nope.pth"), "nope.pth")


@case("w-zero-byte-pth", "weights")
def _(sb):
    """eval camixersr-s --weights a zero-byte .pth"""
    (sb.inp / "zero.pth").write_bytes(b"")
    return error(sb, _eval_weights(sb, sb.inp / "zero.pth"), "zero.pth")


@case("w-text-named-pth", "weights")
def _(sb):
    """eval camixersr-s --weights a text file named .pth"""
    (sb.inp / "text.pth").write_text("not a checkpoint\n")
    return error(sb, _eval_weights(sb, sb.inp / "text.pth"), "text.pth")


@case("w-garbage-safetensors", "weights")
def _(sb):
    """eval camixersr-s --weights a .safetensors of random bytes"""
    (sb.inp / "g.safetensors").write_bytes(os.urandom(512))
    return error(sb, _eval_weights(sb, sb.inp / "g.safetensors"), "g.safetensors")


@case("w-safetensors-huge-header", "weights")
def _(sb):
    """eval camixersr-s --weights a .safetensors whose header length claims 2**60 bytes"""
    (sb.inp / "h.safetensors").write_bytes(struct.pack("<Q", 1 << 60) + b"{}")
    return error(sb, _eval_weights(sb, sb.inp / "h.safetensors"))


@case("w-directory-as-weights", "weights")
def _(sb):
    """eval camixersr-s --weights a directory"""
    (sb.inp / "w.pth").mkdir()
    return error(sb, _eval_weights(sb, sb.inp / "w.pth"))


@case("w-checkpoint-of-another-model", "weights")
def _(sb):
    """eval camixersr-s --weights an esc-light x2 state dict"""
    return error(sb, _eval_weights(sb, ckpt("esc_light_x2_flat.pth")), "key")


@case("w-checkpoint-of-another-scale", "weights")
def _(sb):
    """eval camixersr-s --scale 2 --weights the official x4 CAMixerSR_S.pth"""
    r = sb.run(
        "eval",
        "--model",
        "camixersr-s",
        "--scale",
        "2",
        "--dataset",
        "Set5",
        "--limit",
        "1",
        "--weights",
        str(CAMIXER_S),
    )
    return error(sb, r, "shape")


@case("w-checkpoint-wrong-key", "weights")
def _(sb):
    """eval camixersr-s --weights {'params': state} (the default key is params_ema)"""
    return error(sb, _eval_weights(sb, ckpt("camixer_s_x4_key_params.pth")), "params_ema")


@case("w-weights-key-unknown", "weights")
def _(sb):
    """eval camixersr-s --weights CAMixerSR_S.pth --weights-key nosuch"""
    return error(sb, _eval_weights(sb, CAMIXER_S, "--weights-key", "nosuch"), "nosuch")


@case("w-not-tensors", "weights")
def _(sb):
    """eval camixersr-s --weights {'params_ema': {'a': 1, 'b': 'x'}}"""
    return error(sb, _eval_weights(sb, ckpt("not_tensors.pth")))


@case("w-nan-weights", "weights")
def _(sb):
    """eval camixersr-s --weights a state dict full of NaN"""
    return error(sb, _eval_weights(sb, ckpt("camixer_s_x4_nan.pth")), "non-finite")


class _Payload:
    """Unpickling this calls builtins.print('PWNED'): proof that a loader ran a pickle."""

    def __reduce__(self):
        return (print, ("PWNED",))


@case("w-malicious-pickle", "weights")
def _(sb):
    """eval camixersr-s --weights a raw pickle that would call print('PWNED') if unpickled"""
    (sb.inp / "evil.pth").write_bytes(pickle.dumps({"params_ema": _Payload()}, protocol=2))
    r = _eval_weights(sb, sb.inp / "evil.pth")
    ran = "PWNED" in r.stdout + r.stderr
    return combine(error(sb, r), "the pickle was executed" if ran else "")


@case("w-corrupt-copy-in-repro-weights", "weights")
def _(sb):
    """eval camixersr-s with REPRO_WEIGHTS holding a corrupt CAMixerSR_S.pth (sha256 known)"""
    folder = sb.root / "weights"
    folder.mkdir()
    data = bytearray(CAMIXER_S.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "CAMixerSR_S.pth").write_bytes(bytes(data))
    sb.env_extra["REPRO_WEIGHTS"] = str(folder)
    return error(sb, sb.run(*EVAL_CAM), "checksum")


@case("w-corrupt-converted-cache", "weights")
def _(sb):
    """eval camixersr-s with a garbage converted cache file camixersr-s-x4.safetensors"""
    (sb.cache / "weights").mkdir(parents=True)
    (sb.cache / "weights" / "camixersr-s-x4.safetensors").write_bytes(os.urandom(256))
    return error(sb, sb.run(*EVAL_CAM), "camixersr-s-x4")


@case("w-weights-lock-malformed", "weights")
def _(sb):
    """eval camixersr-s with a weights.lock.json cut short"""
    sb.cache.mkdir(parents=True)
    (sb.cache / "weights.lock.json").write_text('{"version": 1, "entries": {')
    return error(sb, sb.run(*EVAL_CAM), "lock")


@case("w-weights-for-a-weightless-model", "weights")
def _(sb):
    """eval bicubic --weights CAMixerSR_S.pth: the file cannot be used; say so, not ignore it"""
    return error(sb, sb.run(*EVAL_BIC, "--weights", str(CAMIXER_S)), "weights")


@case("pull-unknown-id", "weights")
def _(sb):
    """pull no-such-model"""
    return error(sb, sb.run("pull", "no-such-model"), "no-such-model")


@case("pull-offline", "weights")
def _(sb):
    """pull esc-light --scale 4 with HF_HUB_OFFLINE=1: must not say to run the same pull again"""
    return error(sb, sb.run("pull", "esc-light", "--scale", "4"), forbid=("repro pull esc-light",))


@case("pull-offline-by-weights-id", "weights")
def _(sb):
    """pull esc-x4-dflip with HF_HUB_OFFLINE=1"""
    return error(sb, sb.run("pull", "esc-x4-dflip"), forbid=("repro pull esc-x4-dflip",))


@case("pull-no-network", "weights")
def _(sb):
    """pull esc-light --scale 4, online mode but every connection refused (proxy 127.0.0.1:9)"""
    r = sb.run("pull", "esc-light", "--scale", "4", env={"HF_HUB_OFFLINE": "0"}, timeout=120)
    v = error(sb, r, forbid=("repro pull esc-light",))
    return combine(v, f"took {r.seconds:.0f} s" if r.seconds > 60 else "")


@case("pull-trust-flag-named-in-help", "weights")
def _(sb):
    """pull esc-light --scale 4 --trust-unverified (the flag the docs name) offline: it must be
    accepted; the refusal must be about the network, not an unknown argument"""
    r = sb.run("pull", "esc-light", "--scale", "4", "--trust-unverified")
    return error(sb, r, forbid=("unrecognized arguments",))


@case("pull-model-without-checkpoints", "weights")
def _(sb):
    """pull bicubic"""
    return error(sb, sb.run("pull", "bicubic"), "bicubic")


@case("pull-scale-without-checkpoint", "weights")
def _(sb):
    """pull esc-real --scale 2"""
    return error(sb, sb.run("pull", "esc-real", "--scale", "2"), "x2")


@case("pull-cache-under-a-file", "weights")
def _(sb):
    """pull camixersr-s --scale 4 (converts the shared copy) with REPRO_CACHE under a file"""
    (sb.inp / "afile").write_text("x")
    sb.env_extra["REPRO_CACHE"] = str(sb.inp / "afile" / "cache")
    return error(sb, sb.run("pull", "camixersr-s", "--scale", "4"))


# ============================================================================= cases: results


@case("res-results-is-a-file", "results")
def _(sb):
    """repro.table bicubic_classic --datasets Set5 with REPRO_RESULTS a regular file"""
    sb.res.write_text("x")
    return error(sb, _table(sb, "--datasets", "Set5"))


@case("res-results-parent-is-a-file", "results")
def _(sb):
    """repro.table --datasets Set5 with REPRO_RESULTS under a regular file (read-only place)"""
    (sb.inp / "afile").write_text("x")
    sb.env_extra["REPRO_RESULTS"] = str(sb.inp / "afile" / "results")
    return error(sb, _table(sb, "--datasets", "Set5"))


@case("res-reports-is-a-file", "results")
def _(sb):
    """repro.table --datasets Set5 with REPRO_REPORTS a regular file"""
    sb.rep.write_text("x")
    return error(sb, _table(sb, "--datasets", "Set5"))


@case("res-report-index-reports-under-file", "results")
def _(sb):
    """report (the index) with REPRO_REPORTS under a regular file"""
    (sb.inp / "afile").write_text("x")
    sb.env_extra["REPRO_REPORTS"] = str(sb.inp / "afile" / "reports")
    return error(sb, sb.run("report"))


@case("res-cache-folder-is-a-file", "results")
def _(sb):
    """repro.table --datasets Set5 with results/.cache a regular file"""
    sb.res.mkdir()
    (sb.res / ".cache").write_text("x")
    return error(sb, _table(sb, "--datasets", "Set5"))


@case("res-locks-folder-is-a-file", "results")
def _(sb):
    """repro.table --datasets Set5 with results/.locks a regular file"""
    sb.res.mkdir()
    (sb.res / ".locks").write_text("x")
    return error(sb, _table(sb, "--datasets", "Set5"))


@case("res-partial-csv-is-a-folder", "results")
def _(sb):
    """repro.table --datasets Set5 with results/partial/bicubic_classic.csv a folder: exit 2,
    and no file of the set replaced (all or nothing)"""
    (sb.res / "partial" / "bicubic_classic.csv").mkdir(parents=True)
    return error(sb, _table(sb, "--datasets", "Set5"))


@case("res-two-runs-at-once", "results")
def _(sb):
    """two repro.table bicubic_classic --datasets Set5 at the same time: each exits 0 or with one
    clean line; the published set matches its manifest; report works"""
    procs = [
        sb.popen("bicubic_classic", "--datasets", "Set5", module="repro.table") for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    problems, shown = [], []
    for p, (_so, se) in zip(procs, outs, strict=True):
        err = se.decode("utf-8", "backslashreplace")
        lines = [s.split("\r")[-1] for s in err.split("\n")]
        lines = [s for s in lines if s.strip()]
        shown.append(f"rc={p.returncode}")
        if (
            "Traceback" in err
            or p.returncode not in (0, 2)
            or (p.returncode == 2 and len(lines) != 1)
        ):
            problems.append(f"a run ended {p.returncode}: {' | '.join(lines)[:150]}")
    if all(p.returncode != 0 for p in procs):
        problems.append("neither run succeeded")
    bad = manifest_consistent(sb.res, sb.rep, "bicubic_classic", partial=True)
    if bad:
        problems.append(bad)
    stale = [
        str(p.name) for p in list(sb.res.rglob(".staging-*")) + list(sb.rep.rglob(".staging-*"))
    ]
    if stale:
        problems.append(f"staging left: {stale}")
    r = sb.run("report")
    v = ok(sb, r, "index.md")
    note = " ".join(shown)
    return Verdict(v.ok and not problems, r, "; ".join([note, *problems, v.note]).strip("; "))


def _top_level(sb: Sandbox) -> Callable[[str], bool]:
    """Files outside results/partial and reports/partial (the complete run's set)."""
    return lambda k: not k.lstrip("-").startswith(("results/partial/", "reports/partial/"))


@case("res-limit-after-full-run", "results")
def _(sb):
    """repro.table bicubic_classic --limit 2 after a complete run: exit 0, written only under
    results/partial/ (and reports/partial/), the complete set byte-identical"""
    with_full_results(sb)
    r = _table(sb, "--limit", "2")
    v = ok(sb, r)
    touched = sb.written(r.before, _top_level(sb))
    bad = manifest_consistent(sb.res, sb.rep, "bicubic_classic", partial=True)
    return combine(v, f"changed the complete run: {touched[:3]}" if touched else "", bad)


@case("res-datasets-after-full-run", "results")
def _(sb):
    """repro.table bicubic_classic --datasets Set5 after a complete run: complete set untouched"""
    with_full_results(sb)
    r = _table(sb, "--datasets", "Set5")
    touched = sb.written(r.before, _top_level(sb))
    return combine(ok(sb, r), f"changed the complete run: {touched[:3]}" if touched else "")


@case("res-full-rerun-losing-data", "results")
def _(sb):
    """full rerun with only Set5 reachable (REPRO_SHARED empty) after a complete run: exit 2,
    one line, the complete set untouched (the run goes to results/partial/)"""
    with_full_results(sb)
    root = copy_set5(sb)
    sb.env_extra["REPRO_SHARED"] = str(sb.empty)
    r = _table(sb, "--data-root", str(root))
    v = error(sb, r, "partial", allow_written=lambda k: not _top_level(sb)(k))
    return v


@case("res-kill-9-then-resume", "results")
def _(sb):
    """kill -9 a repro.table bicubic_classic --datasets Set5 run once it has cached rows; nothing
    is published; the rerun exits 0 and reuses the cached rows"""
    p = sb.popen("bicubic_classic", "--datasets", "Set5", module="repro.table")
    deadline, lines = time.monotonic() + 120, 0
    while time.monotonic() < deadline and p.poll() is None:
        lines = (
            sum(
                len(f.read_text(errors="replace").splitlines())
                for f in (sb.res / ".cache").glob("*.jsonl")
            )
            if (sb.res / ".cache").is_dir()
            else 0
        )
        if lines >= 2:
            break
        time.sleep(0.1)
    if p.poll() is not None:
        p.communicate()
        raise SetupError(f"the run ended (rc {p.returncode}) before it could be killed")
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
    published = [k for k in sb.snap() if k.startswith(("results/", "reports/"))]
    r = _table(sb, "--datasets", "Set5")
    v = ok(sb, r)
    found = re.search(r"(\d+) reused from the cache", r.stdout)
    reused = int(found.group(1)) if found else 0
    return combine(
        v,
        f"the killed run published {published[:3]}" if published else "",
        "" if reused >= 1 else f"rerun reused {reused} cached images (cache had {lines} rows)",
    )


def _cache_files(sb: Sandbox) -> list[Path]:
    files = sorted((sb.res / ".cache").glob("*.jsonl"))
    if not files:
        raise SetupError("the full-run fixture has no cache files")
    return files


def _set5_x2_psnr(res: Path) -> float:
    cells = json.loads((res / "bicubic_classic.cells.json").read_text())["cells"]
    for c in cells:
        if c["row"] == "bicubic-x2" and c["dataset"] == "Set5" and c["metric"] == "psnr":
            return c["reproduced"]
    raise SetupError("no Set5 x2 psnr cell in the fixture")


def _poison(sb: Sandbox, change: Callable[[dict], dict]) -> Verdict:
    """Rewrite the cached entry of Set5 x2 'baby' with ``change``; rerun --datasets Set5 --json:
    the entry must be recomputed (the Set5 x2 PSNR equals the clean run's) or refused cleanly."""
    with_full_results(sb)
    want = _set5_x2_psnr(sb.res)
    done = False
    for f in _cache_files(sb):
        out = []
        for line in f.read_text().splitlines():
            e = json.loads(line)
            row = e["rows"][0]
            if (
                not done
                and e["image"] == "baby"
                and row.get("dataset") == "Set5"
                and row.get("scale") == 2
            ):
                e, done = change(e), True
            out.append(json.dumps(e))
        f.write_text("\n".join(out) + "\n")
    if not done:
        raise SetupError("no cached Set5 x2 baby entry in the fixture")
    r = _table(sb, "--datasets", "Set5", "--json")
    v = clean(sb, r)
    if r.rc == 0:
        try:
            cells = json.loads(r.stdout)["cells"]
            got = next(
                c["reproduced"]
                for c in cells
                if c["row"] == "bicubic-x2" and c["dataset"] == "Set5" and c["metric"] == "psnr"
            )
        except (ValueError, KeyError, StopIteration) as exc:
            return combine(v, f"--json output unusable ({exc})")
        if not isinstance(got, float) or abs(got - want) > 1e-9:
            return combine(v, f"Set5 x2 PSNR {got} from the poisoned cache, clean run {want}")
    return v


@case("res-cache-malformed-lines", "results")
def _(sb):
    """results/.cache/*.jsonl with a garbage line, a cut line and a JSON list: rerun exits 0"""
    with_full_results(sb)
    for f in _cache_files(sb):
        text = f.read_text()
        first = text.splitlines()[0]
        f.write_text(text + "{not json\n" + first[: len(first) // 2] + "\n[1, 2]\nnull\n")
    r = _table(sb, "--datasets", "Set5")
    found = re.search(r"(\d+) reused from the cache", r.stdout)
    return combine(ok(sb, r), "" if found and int(found.group(1)) > 0 else "cache not reused")


@case("res-cache-value-not-a-number", "results")
def _(sb):
    """a cached row whose psnr is the string "abc": recomputed, or a clean error"""

    def change(e):
        e["rows"][0]["psnr"] = "abc"
        return e

    return _poison(sb, change)


@case("res-cache-row-without-metrics", "results")
def _(sb):
    """a cached entry whose row lacks the metric values: recomputed, not averaged over 4 images"""

    def change(e):
        e["rows"] = [{"image": "baby", "dataset": "Set5", "scale": 2}]
        return e

    return _poison(sb, change)


@case("res-cache-non-utf8-bytes", "results")
def _(sb):
    """results/.cache/*.jsonl with invalid UTF-8 bytes appended: rerun exits 0"""
    with_full_results(sb)
    for f in _cache_files(sb):
        with open(f, "ab") as h:
            h.write(b"\xff\xfe\xfa garbage\n")
    return ok(sb, _table(sb, "--datasets", "Set5"))


# ============================================================================= driver


@dataclass
class Outcome:
    case: Case
    status: str  # PASS | FAIL | SETUP-ERROR
    verdict: Verdict | None
    note: str
    seconds: float
    sandbox: str


def run_case(c: Case, root: Path, keep: bool) -> Outcome:
    folder = Path(tempfile.mkdtemp(prefix=f"{c.id}-", dir=root))
    sb = Sandbox(folder)
    start = time.monotonic()
    try:
        v = c.fn(sb)
        status, note = ("PASS" if v.ok else "FAIL"), v.note
    except SetupError as exc:
        v, status, note = None, "SETUP-ERROR", str(exc)
    except Exception as exc:  # noqa: BLE001 - a bug of this script, reported as such
        v, status, note = None, "SETUP-ERROR", f"{type(exc).__name__}: {exc}"
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return Outcome(c, status, v, note, time.monotonic() - start, str(folder))


def _line(o: Outcome) -> str:
    r = o.verdict.run if o.verdict else None
    rc = "-" if r is None else ("T/O" if r.rc is None else str(r.rc))
    shown = r.shown() if r else o.note[:120]
    return f"{o.case.id:<40} {o.status:<11} {rc:>4}  {shown}"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")


def write_markdown(outcomes: list[Outcome], elapsed: float, jobs: int) -> None:
    held = sum(o.status == "PASS" for o in outcomes)
    lines = [
        "# Hostile and careless inputs against the CLI",
        "",
        "The promise for bad input: exit code 2, exactly one line on stderr (no traceback), "
        "nothing written to the results/reports folders (`results/.cache` and `results/.locks` "
        "excepted). Cases marked otherwise expect success, or either a value or a clean "
        "refusal. Each case runs in a fresh sandbox (`REPRO_RESULTS`, `REPRO_REPORTS`, "
        "`REPRO_CACHE`, `HF_HOME` inside it, `HF_HUB_OFFLINE=1`, proxies and `HF_ENDPOINT` on a "
        "closed port of 127.0.0.1). See the script's docstring.",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {os.cpu_count()} CPU cores (`nproc`: {_nproc()}), {_cpu_name()}, "
        f"Python {platform.python_version()}",
        f"- command: `. .venv/bin/activate && python benchmarks/hostile_cases.py` "
        f"({jobs} cases at a time, {elapsed:.0f} s in all)",
        f"- result: **{len(outcomes)} cases, {held} hold**",
        "",
        "| id | group | result | exit | stderr (first 120 chars) |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        r = o.verdict.run if o.verdict else None
        rc = "-" if r is None else ("timeout" if r.rc is None else str(r.rc))
        shown = r.shown() if r else o.note[:120]
        lines.append(f"| {o.case.id} | {o.case.group} | {o.status} | {rc} | `{_md_cell(shown)}` |")
    failing = [o for o in outcomes if o.status != "PASS"]
    if failing:
        lines += ["", "## Cases that do not hold", ""]
        for o in failing:
            r = o.verdict.run if o.verdict else None
            lines.append(f"- **{o.case.id}** ({o.status}): {o.case.what}. Why: {o.note or '-'}.")
            if r is not None:
                lines.append(f"  Command: `{_md_cell(r.command())}`")
                if r.exception():
                    lines.append(f"  Exception: `{_md_cell(r.exception()[:300])}`")
    MD_PATH.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    global _FIX_ROOT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-k", help="only cases whose id contains this text (comma-separated: any)")
    ap.add_argument(
        "-j",
        type=int,
        default=max(2, min(4, (os.cpu_count() or 2) + 1)),
        help="cases run at a time",
    )
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--keep", action="store_true", help="keep the sandboxes")
    ap.add_argument("-v", "--verbose", action="store_true", help="show the failures' stderr")
    ap.add_argument("--no-md", action="store_true", help=f"do not write {MD_PATH.name}")
    args = ap.parse_args(argv)
    ids = [c.id for c in CASES]
    if len(ids) != len(set(ids)):
        raise SystemExit("duplicate case ids")
    wanted = [k for k in (args.k or "").split(",") if k]
    cases = [c for c in CASES if not wanted or any(k in c.id for k in wanted)]
    if args.list:
        for c in cases:
            print(f"{c.id:<40} {c.group:<9} {c.what}")
        return 0
    for need in (SET5, CAMIXER_S):
        if not need.exists():
            raise SystemExit(f"{need} is missing: point REPRO_SHARED at the shared folder")
    root = Path(tempfile.mkdtemp(prefix="repro-hostile-"))
    _FIX_ROOT = root
    print(f"{len(cases)} cases, {args.j} at a time, sandboxes under {root}", flush=True)
    start = time.monotonic()
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=args.j) as pool:
        futures = [pool.submit(run_case, c, root, args.keep) for c in cases]
        for fut in as_completed(futures):
            o = fut.result()
            outcomes.append(o)
            print(_line(o), flush=True)
    elapsed = time.monotonic() - start
    order = {c.id: i for i, c in enumerate(cases)}
    outcomes.sort(key=lambda o: order[o.case.id])
    held = sum(o.status == "PASS" for o in outcomes)
    failing = [o for o in outcomes if o.status != "PASS"]
    print(f"\n{len(outcomes)} cases, {held} hold ({elapsed:.0f} s)")
    for o in failing:
        print(f"  {o.status:<11} {o.case.id}: {o.note}")
        r = o.verdict.run if o.verdict else None
        if args.verbose and r is not None:
            print(f"      command: {r.command()}")
            print(f"      exit {r.rc}; stderr:")
            for line in r.lines[-8:]:
                print(f"        {line[:300]}")
    if not args.no_md and not args.k:
        write_markdown(outcomes, elapsed, args.j)
        print(f"wrote {MD_PATH}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if not failing else 1


if __name__ == "__main__":
    raise SystemExit(main())
