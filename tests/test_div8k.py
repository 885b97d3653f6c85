"""Test8K built from the DIV8K zip by range reads (repro.data.build), without the network.

The zip is a small local one served through an fsspec file system whose files are fsspec's
buffered files, as ``HfFileSystem``'s are: every byte the build reads goes through
``_fetch_range``, which records the range. Needed members sit between large dummy members that
carry real-looking names (other DIV8K indexes) and random bytes: reading them is measurable.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from fsspec import AbstractFileSystem
from fsspec.spec import AbstractBufferedFile
from PIL import Image

from repro.data.build import MANIFEST, build_set, describe_built, read_built
from repro.data.cards import get_card, load_card
from repro.data.imresize import imresize_uint8, modcrop
from repro.data.loaders import open_dataset
from repro.errors import ChecksumError, DataError, MissingDataError, SpecError
from repro.imageio import read_image
from repro.paths import cards_dir

NEEDED = [1401, 1402, 1403, 1404, 1405, 1406]
DUMMY_BYTES = 1 << 20
BLOCK = 4096  # the test's readahead: small beside a dummy member
HF_PATH = "datasets/yangtao9009/DIV8K@11a40057ae207c1eaedc92fabf6abe49063d999e/DIV8K.zip"
SIZES = {1401: (37, 50), 1402: (41, 29), 1403: (64, 48), 1404: (30, 33), 1405: (45, 46)}


class _RangeFile(AbstractBufferedFile):
    def _fetch_range(self, start: int, end: int) -> bytes:
        self.fs.ranges.append((start, end))
        with open(self.fs.local, "rb") as f:
            f.seek(start)
            return f.read(end - start)


class RangeFS(AbstractFileSystem):
    """One local file served at the Hub path by range reads only, each range recorded."""

    cachable = False

    def __init__(self, local: Path, path: str = HF_PATH) -> None:
        super().__init__()
        self.local, self.path, self.ranges = local, path, []

    def info(self, path, **kwargs):
        if path != self.path:
            raise FileNotFoundError(path)
        return {"name": path, "size": self.local.stat().st_size, "type": "file"}

    def _open(self, path, mode="rb", block_size=None, **kwargs):
        return _RangeFile(self, path, mode=mode, block_size=block_size, **kwargs)


def _png(index: int) -> bytes:
    h, w = SIZES.get(index, (52, 40))
    rng = np.random.default_rng(index)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[: h // 2] = np.linspace(0, 255, w, dtype=np.uint8)[None, :, None]  # smooth and rough parts
    out = io.BytesIO()
    Image.fromarray(img).save(out, format="PNG")
    return out.getvalue()


def _make_zip(path: Path, needed=NEEDED, dummies=(1, 2, 1399, 1407), zip64=False) -> dict:
    """DIV8K/NNNN.png members: the needed images, with random-byte dummies between them.

    ``zip64``: every record in its zip64 form, as in the 46 GB DIV8K.zip (offsets > 4 GiB).
    """
    order = [dummies[0], needed[0], needed[1], dummies[1], *needed[2:4], dummies[2], *needed[4:]]
    order.append(dummies[3])
    rng = np.random.default_rng(0)
    limit = zipfile.ZIP64_LIMIT
    zipfile.ZIP64_LIMIT = 1000 if zip64 else limit  # the writer's threshold for zip64 records
    try:
        with zipfile.ZipFile(path, "w") as z:
            for k, index in enumerate(order):
                data = _png(index) if index in needed else rng.bytes(DUMMY_BYTES)
                kind = zipfile.ZIP_DEFLATED if k % 2 else zipfile.ZIP_STORED
                z.writestr(f"DIV8K/{index:04d}.png", data, compress_type=kind)
    finally:
        zipfile.ZIP64_LIMIT = limit
    with zipfile.ZipFile(path) as z:
        return {int(i.filename[6:10]): i for i in z.infolist()}


def _card(zip_path: Path | None = None):
    """The Test8K card building images 1401-1406; the zip's sha256 that of ``zip_path``."""
    card = get_card("Test8K")
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest() if zip_path else None
    build = replace(card.build, first=NEEDED[0], last=NEEDED[-1], sha256=digest)
    return replace(card, images=len(NEEDED), build=build)


@pytest.fixture
def online(monkeypatch):
    import huggingface_hub.constants as hfc

    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", False)  # the fake file system needs no network


def _spans(infos: dict, zip_path: Path) -> dict[int, tuple[int, int]]:
    """Each member's byte span in the zip: its header to the next member (or the directory)."""
    with zipfile.ZipFile(zip_path) as z:
        directory = z.start_dir
    starts = sorted((i.header_offset, n) for n, i in infos.items())
    ends = [s for s, _ in starts[1:]] + [directory]
    return {n: (s, e) for (s, n), e in zip(starts, ends, strict=True)}


def _overlap(ranges, span) -> int:
    return sum(max(0, min(e, span[1]) - max(s, span[0])) for s, e in ranges)


@pytest.mark.parametrize("zip64", [False, True])
def test_build_reads_only_the_needed_members_and_the_directory(tmp_path, online, zip64):
    zip_path = tmp_path / "DIV8K.zip"
    infos = _make_zip(zip_path, zip64=zip64)
    assert (b"PK\x06\x06" in zip_path.read_bytes()[-200:]) == zip64  # zip64 end record
    fs = RangeFS(zip_path)
    built = build_set(
        _card(), tmp_path / "data" / "Test8K", fs=fs, block_size=BLOCK, progress=False
    )
    _assert_read_only_what_is_needed(fs.ranges, infos, zip_path)
    assert built.bytes_read == sum(e - s for s, e in fs.ranges)  # recorded = requested


def _assert_read_only_what_is_needed(ranges: list, infos: dict, zip_path: Path) -> None:
    spans = _spans(infos, zip_path)
    for index, span in spans.items():
        read = _overlap(ranges, span)
        if index in NEEDED:
            assert read >= span[1] - span[0], index  # the whole member
        else:  # at most one readahead block spills past the member before it
            assert read <= BLOCK, (index, read)
    fetched = sum(e - s for s, e in ranges)
    needed = sum(spans[i][1] - spans[i][0] for i in NEEDED)
    tail = zip_path.stat().st_size - max(e for _, e in spans.values())  # the directory, end
    assert fetched <= needed + tail + (len(NEEDED) + 2) * BLOCK
    assert fetched < DUMMY_BYTES  # four 1 MiB dummies lie in the zip; none was read


def test_the_default_path_goes_through_hffilesystem_range_requests(tmp_path, online, monkeypatch):
    """huggingface_hub's own HfFileSystem and file class, only its HTTP calls replaced."""
    from huggingface_hub import hf_file_system as hffs

    zip_path = tmp_path / "DIV8K.zip"
    infos = _make_zip(zip_path)
    ranges = []

    def fetch_range(self, start: int, end: int) -> bytes:  # replaces one ranged GET
        assert self.path == HF_PATH  # the pinned revision, in the path
        ranges.append((start, end))
        with open(zip_path, "rb") as f:
            f.seek(start)
            return f.read(end - start)

    size = zip_path.stat().st_size
    monkeypatch.setattr(hffs.HfFileSystem, "_repo_and_revision_exist", lambda *a: (True, None))
    monkeypatch.setattr(hffs.HfFileSystem, "info", lambda self, p, **k: {"size": size, "name": p})
    monkeypatch.setattr(hffs.HfFileSystemFile, "_fetch_range", fetch_range)
    built = build_set(_card(), tmp_path / "T", block_size=BLOCK, progress=False)
    _assert_read_only_what_is_needed(ranges, infos, zip_path)
    assert built.bytes_read == sum(e - s for s, e in ranges) and len(built.sha256) == 12


def test_hr_is_mod_cropped_and_lr_follows_the_classsr_float_recipe(tmp_path, online):
    zip_path = tmp_path / "DIV8K.zip"
    _make_zip(zip_path)
    target = tmp_path / "data" / "Test8K"
    built = build_set(_card(), target, fs=RangeFS(zip_path), block_size=BLOCK, progress=False)
    differs_from_matlab = 0
    for index in NEEDED:
        source = np.asarray(Image.open(io.BytesIO(_png(index))))
        hr = read_image(target / f"HR/X4/{index}.png")
        lr = read_image(target / f"LR/X4/{index}.png")
        h, w = source.shape[0] // 4 * 4, source.shape[1] // 4 * 4
        assert hr.shape == (h, w, 3) and np.array_equal(hr, source[:h, :w])
        expected = imresize_uint8(modcrop(source, 4), 0.25, rounding="float")
        assert lr.shape == (h // 4, w // 4, 3) and np.array_equal(lr, expected)
        matlab = imresize_uint8(modcrop(source, 4), 0.25, rounding="matlab")
        differs_from_matlab += int(not np.array_equal(lr, matlab))
    assert differs_from_matlab  # the recipe's rounding is the float one, not MATLAB's uint8 one
    manifest = json.loads((target / MANIFEST).read_text())
    assert manifest["official"] is False and manifest["recipe"] == "classsr-mod4-float-bicubic"
    assert manifest["members"]["1403"]["member"] == "DIV8K/1403.png"
    assert set(built.sha256) == {f"{k}/X4/{i}.png" for i in NEEDED for k in ("HR", "LR")}
    for rel, digest in built.sha256.items():
        assert hashlib.sha256((target / rel).read_bytes()).hexdigest() == digest


def test_built_set_loads_as_built_not_official_and_is_verified(tmp_path, online):
    zip_path = tmp_path / "DIV8K.zip"
    _make_zip(zip_path)
    target = tmp_path / "data" / "Test8K"
    build_set(_card(), target, fs=RangeFS(zip_path), block_size=BLOCK, progress=False)
    data = open_dataset("Test8K", 4, data_root=tmp_path / "data", use_hub=False)
    origin = data.describe()["origin"]
    assert origin.startswith(f"built:hf://{HF_PATH}")
    assert "members 1401-1406, recipe classsr-mod4-float-bicubic" in origin
    assert data.names == [str(i) for i in NEEDED] and not data.complete  # 6 of 100
    sample = data.load("1402")
    assert sample.hr.shape[:2] == (sample.lr.shape[0] * 4, sample.lr.shape[1] * 4)
    for name in data.names:
        data.verify(name)
    assert data.unverified == 0  # every file checked against the build record
    lr = target / "LR/X4/1404.png"
    lr.write_bytes(lr.read_bytes()[:-1] + b"\0")
    fresh = open_dataset("Test8K", 4, data_root=tmp_path / "data", use_hub=False)
    with pytest.raises(ChecksumError, match="its build record"):
        fresh.verify("1404")


def test_a_finished_build_is_kept_and_read_nothing(tmp_path, online):
    zip_path = tmp_path / "DIV8K.zip"
    _make_zip(zip_path)
    target = tmp_path / "Test8K"
    first = build_set(_card(), target, fs=RangeFS(zip_path), block_size=BLOCK, progress=False)
    again = RangeFS(zip_path)
    kept = build_set(_card(), target, fs=again, progress=False)
    assert kept.sha256 == first.sha256 and first.fresh and not kept.fresh
    assert again.ranges == []
    assert describe_built(kept).startswith("already built, nothing read: 12 files in ")
    assert describe_built(first).endswith(", recipe classsr-mod4-float-bicubic, 0.0 MB read)")
    other = tmp_path / "elsewhere"
    other.mkdir()
    with pytest.raises(DataError, match="is no build of Test8K"):
        build_set(_card(), other, fs=again, progress=False)


def _nothing_left(parent: Path, target: Path) -> None:
    assert not target.exists()
    assert not [p for p in parent.iterdir() if p.name.startswith(".tmp-")]


def test_missing_member_names_the_members_and_writes_nothing(tmp_path, online):
    zip_path = tmp_path / "DIV8K.zip"
    _make_zip(zip_path, needed=[1401, 1402, 1403, 1405, 1406, 1408])
    target = tmp_path / "data" / "Test8K"
    with pytest.raises(DataError, match=r"first missing: 1404\).*'DIV8K/0001.png'"):
        build_set(_card(), target, fs=RangeFS(zip_path), progress=False)
    _nothing_left(target.parent, target)


def test_an_image_held_twice_is_refused(tmp_path, online):
    zip_path = tmp_path / "DIV8K.zip"
    _make_zip(zip_path)
    with zipfile.ZipFile(zip_path, "a") as z:
        z.writestr("DIV8K/valid/1402.png", _png(1402))
    with pytest.raises(DataError, match=r"image 1402 more than once"):
        build_set(_card(), tmp_path / "T", fs=RangeFS(zip_path), progress=False)


def test_corrupt_member_fails_on_its_crc_and_leaves_nothing(tmp_path, online):
    zip_path = tmp_path / "DIV8K.zip"
    infos = _make_zip(zip_path)
    info = infos[1406]  # stored (index 9 in the zip is even): its bytes are the PNG's
    raw = bytearray(zip_path.read_bytes())
    data_at = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[data_at + info.compress_size // 2] ^= 0xFF
    zip_path.write_bytes(bytes(raw))
    target = tmp_path / "data" / "Test8K"
    with pytest.raises(DataError, match=r"DIV8K/1406.png is not a readable zip .*CRC"):
        build_set(_card(), target, fs=RangeFS(zip_path), block_size=BLOCK, progress=False)
    _nothing_left(target.parent, target)


def test_unknown_repo_revision_or_file_is_one_line(tmp_path, online):
    zip_path = tmp_path / "DIV8K.zip"
    _make_zip(zip_path)
    fs = RangeFS(zip_path, path="datasets/someone/else@" + "0" * 40 + "/DIV8K.zip")
    with pytest.raises(MissingDataError, match=r"DIV8K.zip not found \(repo, revision or file\)"):
        build_set(_card(), tmp_path / "T", fs=fs, progress=False)
    assert not (tmp_path / "T").exists()


def test_offline_says_the_build_needs_the_network_or_a_local_zip(tmp_path, monkeypatch):
    import huggingface_hub.constants as hfc

    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", True)
    with pytest.raises(
        MissingDataError, match=r"HF_HUB_OFFLINE=1 .* --build --from-zip PATH"
    ) as err:
        build_set(_card(), tmp_path / "T", progress=False)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "T").exists()


def test_local_zip_takes_the_same_path_checked_against_the_card(tmp_path, monkeypatch, online):
    import huggingface_hub.constants as hfc

    zip_path = tmp_path / "DIV8K.zip"
    _make_zip(zip_path)
    by_hub = build_set(_card(), tmp_path / "a", fs=RangeFS(zip_path), progress=False)
    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", True)  # a local copy needs no network
    local = build_set(_card(zip_path), tmp_path / "b", from_zip=zip_path, progress=False)
    assert local.sha256 == by_hub.sha256
    assert local.origin.startswith("built:DIV8K.zip (local copy of hf://datasets/yangtao9009/")
    assert read_built(tmp_path / "b").origin == local.origin
    other = tmp_path / "other.zip"
    _make_zip(other, dummies=(3, 4, 5, 6))
    with pytest.raises(ChecksumError, match="it is another file"):
        build_set(_card(zip_path), tmp_path / "c", from_zip=other, progress=False)
    _nothing_left(tmp_path, tmp_path / "c")


def test_a_malformed_build_record_is_refused(tmp_path):
    (tmp_path / MANIFEST).write_text(json.dumps({"format": 1, "origin": "local", "sha256": {}}))
    with pytest.raises(DataError, match="not a build record"):
        read_built(tmp_path)
    assert read_built(tmp_path / "none") is None


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("revision", "11a4005", "a quoted 40-hex commit"),  # abbreviated: no pin for byte ranges
        ("revision", "main", "a quoted 40-hex commit"),
        ("members", "1500-1401", "first <= last"),
        ("members", "1401-1499", "names 99 images; 'images' says 100"),
        ("recipe", "nearest", "one of classsr-mod4-float-bicubic"),
        ("file", "../DIV8K.zip", "relative path inside"),
    ],
)
def test_bad_build_block_is_a_one_line_card_error(tmp_path, key, value, message):
    raw = yaml.safe_load((cards_dir() / "Test8K.yaml").read_text(encoding="utf-8"))
    raw["source"]["build"][key] = value
    path = tmp_path / "Test8K.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(SpecError, match=f"source.build.*{message}"):
        load_card(path)


def test_the_test8k_card_pins_the_div8k_zip():
    build = get_card("Test8K").build
    assert build.url == (
        "hf://datasets/yangtao9009/DIV8K@11a40057ae207c1eaedc92fabf6abe49063d999e/DIV8K.zip"
    )
    assert list(build.indexes) == list(range(1401, 1501))
    assert build.sha256.startswith("c1c1bd15")  # the LFS oid of DIV8K.zip at that commit


BUILT_SPEC = """
id: built8k
title: bicubic on a built Test8K (test spec)
paper: test
source: {note: a test spec}
protocol: {version: 1, channel: rgb, crop: 0, lr: official}
tolerance: {psnr: 0.05}
columns:
  - {dataset: Test8K, metric: psnr}
rows:
  - {id: bicubic-x4, label: Bicubic x4, model: bicubic, scale: 4, reported: [25.0]}
"""


def test_cells_of_a_built_set_say_so_in_the_table_the_report_and_a_recompare(tmp_path, online):
    from repro.report.writer import publish_result
    from repro.tables.run import recompare, run_table
    from repro.tables.spec import parse_spec

    zip_path = tmp_path / "DIV8K.zip"
    _make_zip(zip_path)
    build_set(_card(), tmp_path / "data" / "Test8K", fs=RangeFS(zip_path), progress=False)
    path = tmp_path / "specs" / "built8k.yaml"
    path.parent.mkdir()
    path.write_text(BUILT_SPEC)
    spec = parse_spec(path)
    result = run_table(spec, data_root=str(tmp_path / "data"), progress=False, use_cache=False)
    (cell,) = result.cells
    assert cell.reproduced is not None and cell.images == 6
    assert cell.built.startswith(f"built:hf://{HF_PATH} members 1401-1406")
    assert result.provenance["jobs"][0]["data"]["origin"] == cell.built
    paths = publish_result(result)
    saved = json.loads(Path(paths["results:built8k.cells.json"]).read_text())["cells"][0]
    assert saved["built"] == cell.built
    report = Path(paths["reports:built8k.md"]).read_text()
    # the table, numbers with the paper's decimals (the spec's 25.0)
    assert re.search(r"\| 25\.0 → \d+\.\d \(built\) \(6/100 img\) \|", report)
    assert "(built): measured on a set built here from its raw source" in report
    assert "PARTIAL (6 of 100 images) (built data)" in report  # the appendix
    (again,) = recompare(spec).cells  # from the saved cells and provenance
    assert again.built == cell.built
