"""Hostile Hub snapshots in an offline HF cache: archives that escape, lie or are cut short."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from repro.data.cards import load_card
from tests.hostile.inputs import SET5, SHIPPED_CARDS, png
from tests.hostile.sandbox import Sandbox, expect_error, expect_ok

SET5_REV = load_card(SHIPPED_CARDS / "Set5.yaml").hub.revision
FLICKR_REV = load_card(SHIPPED_CARDS / "Flickr1024.yaml").hub.revision  # abbreviated in the card
FLICKR_FULL = FLICKR_REV + "0" * (40 - len(FLICKR_REV))  # any full commit it "resolves" to


def _snapshot(sb: Sandbox, repo: str, commit: str, ref: str | None = None) -> Path:
    """An empty snapshot folder of ``repo`` in the sandbox's HF cache; the set is nowhere else."""
    folder = sb.hf / "hub" / f"datasets--{repo.replace('/', '--')}"
    snap = folder / "snapshots" / commit
    snap.mkdir(parents=True)
    if ref:
        (folder / "refs").mkdir(parents=True)
        (folder / "refs" / ref).write_text(commit)
    sb.setenv("REPRO_SHARED", sb.empty)
    return snap


def _tar_gz(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)


def _member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _set5_tarballs(snap: Path, hr_extra=(), cut: str | None = None) -> None:
    """eugenesiow's Set5_HR and Set5_LR_x2 tarballs of the shared Set5 (``cut``: that HR image
    cut short)."""
    hr = [
        _member(f"Set5_HR/{p.name}", p.read_bytes()[:3000] if p.name == cut else p.read_bytes())
        for p in sorted((SET5 / "HR").iterdir())
    ]
    _tar_gz(snap / "data" / "Set5_HR.tar.gz", hr + list(hr_extra))
    lr = [
        _member(f"Set5_LR_x2/{p.name.replace('x2.png', '.png')}", p.read_bytes())
        for p in sorted((SET5 / "LR_bicubic" / "X2").iterdir())
    ]
    _tar_gz(snap / "data" / "Set5_LR_x2.tar.gz", lr)


def test_hub_set5_archives_good(sb):
    """verify Set5 --scale 2 from a hand-made offline HF cache (eugenesiow tarballs): exit 0"""
    _set5_tarballs(_snapshot(sb, "eugenesiow/Set5", SET5_REV))
    expect_ok(sb.run("verify", "Set5", "--scale", "2"), "all good")


def test_hub_set5_tar_traversal(sb):
    """Set5_HR.tar.gz holding '../../escaped.png': refused, and nothing escapes"""
    snap = _snapshot(sb, "eugenesiow/Set5", SET5_REV)
    _set5_tarballs(snap, hr_extra=[_member("../../escaped.png", b"x")])
    expect_error(sb.run("verify", "Set5", "--scale", "2"), "outside")
    assert not list(sb.root.rglob("escaped.png"))


def test_hub_set5_tar_symlink(sb):
    """Set5_HR.tar.gz holding a symlink to /etc/passwd"""
    link = tarfile.TarInfo("Set5_HR/passwd.png")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    _set5_tarballs(_snapshot(sb, "eugenesiow/Set5", SET5_REV), hr_extra=[(link, None)])
    expect_error(sb.run("verify", "Set5", "--scale", "2"), "link")


def test_hub_set5_tar_corrupt(sb):
    """Set5_HR.tar.gz of random bytes after the gzip magic"""
    snap = _snapshot(sb, "eugenesiow/Set5", SET5_REV)
    (snap / "data").mkdir()
    (snap / "data" / "Set5_HR.tar.gz").write_bytes(b"\x1f\x8b" + os.urandom(200))
    expect_error(sb.run("verify", "Set5", "--scale", "2"), "Set5_HR.tar.gz")


def test_hub_set5_tar_truncated_image(sb):
    """valid tarballs, one HR image cut short; eval bicubic x2 on them"""
    _set5_tarballs(_snapshot(sb, "eugenesiow/Set5", SET5_REV), cut="bird.png")
    r = sb.run("eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set5")
    expect_error(r, "bird")


@pytest.fixture
def flickr_snapshot(sb, monkeypatch) -> Path:
    """An empty Flickr1024 parquet snapshot; HF datasets' own cache inside the sandbox."""
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", sb.hf / "datasets")
    snap = _snapshot(sb, "ernestchu/flickr1024", FLICKR_FULL, ref=FLICKR_REV)
    (snap / "data").mkdir()
    return snap / "data" / "test-00000-of-00001.parquet"


def test_hub_flickr1024_parquet_corrupt(sb, flickr_snapshot):
    """verify Flickr1024 --scale 2 whose parquet file is garbage"""
    flickr_snapshot.write_bytes(b"PAR1" + os.urandom(300))
    expect_error(sb.run("verify", "Flickr1024", "--scale", "2"), "parquet")


def test_hub_flickr1024_parquet_missing_view(sb, flickr_snapshot):
    """a Flickr1024 parquet whose right image is null"""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    img = png(sb.inp / "l.png", 64, 32).read_bytes()
    struct_t = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table(
        {
            "left_image": pa.array([{"bytes": img, "path": "l.png"}], type=struct_t),
            "right_image": pa.array([None], type=struct_t),
        }
    )
    pq.write_table(table, flickr_snapshot)
    expect_error(sb.run("verify", "Flickr1024", "--scale", "2"))
