"""Bad and hostile input: every case is a one-line ReproError and nothing is written.

Images (decompression bombs, float and 32-bit samples, 16-bit rounding), paths from outside
data (parquet names, card templates, archive members), archive bombs and corrupt archives,
missing data roots, an unreachable Hub (decided once per process) and too-small images in the
metrics, plus provenance that names no absolute path of this machine.
"""

from __future__ import annotations

import io
import json
import stat
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import repro.data.archives as archives
import repro.data.hub as hub
import repro.imageio as imageio
from repro.data.archives import extract_archives
from repro.data.cards import get_card
from repro.data.hub import hub_snapshot
from repro.data.loaders import open_dataset
from repro.data.parquet import materialise_parquet
from repro.errors import DataError, MissingDataError, SpecError
from repro.imageio import read_image
from tests.conftest import DATA
from tests.test_loaders import REVISION, _fake_hub_cache, _offline_hub


@pytest.fixture(autouse=True)
def _fresh_hub_state():
    hub.reset_hub_state()
    yield
    hub.reset_hub_state()


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# ---------------------------------------------------------------------------------------------
# images


def _png(width: int, height: int, depth: int, color: int, rows: bytes) -> bytes:
    """A PNG file from raw scanlines (each already prefixed with its filter byte)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _png16(samples: np.ndarray, color: int) -> bytes:
    """A 16-bit PNG of uint16 (H, W, C) samples; color 2: RGB, 4: gray+alpha, 6: RGBA."""
    h, w = samples.shape[:2]
    rows = b"".join(b"\x00" + samples[i].astype(">u2").tobytes() for i in range(h))
    return _png(w, h, 16, color, rows)


def test_png_header_claiming_huge_size_is_refused(tmp_path):
    """A 1x1 PNG whose IHDR claims 100000x100000 pixels (CRC fixed): refused, nothing decoded."""
    data = bytearray(_png(1, 1, 8, 0, b"\x00\x00"))
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    data[16:29] = ihdr  # width, height and the rest of IHDR's body
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    path = tmp_path / "bomb.png"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="10,000,000,000 pixels.*limit of") as exc:
        read_image(path)
    assert "bomb" in _one_line(exc)


def test_image_over_the_pixel_limit_is_refused(monkeypatch):
    monkeypatch.setattr(imageio, "MAX_PIXELS", 100)
    with pytest.raises(DataError, match=r"claims 288x288 = 82,944 pixels, over the limit of 100 "):
        read_image(DATA / "Set5" / "HR" / "bird.png")


def test_float_tiff_is_refused_not_cast(tmp_path):
    """A float TIFF (NaN, 0.5) used to become uint8 0s silently."""
    arr = np.full((8, 8), 0.5, np.float32)
    arr[0, 0] = np.nan
    Image.fromarray(arr, "F").save(tmp_path / "float.tif")
    with pytest.raises(DataError, match="32-bit float.*convert it to an 8- or 16-bit PNG") as exc:
        read_image(tmp_path / "float.tif")
    _one_line(exc)


def test_32bit_integer_beyond_16_bits_is_refused(tmp_path):
    Image.fromarray(np.full((8, 8), 1 << 20, np.int32)).save(tmp_path / "i32.tif")
    with pytest.raises(DataError, match=r"outside 16 bits"):
        read_image(tmp_path / "i32.tif")


def test_16bit_rgb_png_is_rounded_as_im2uint8(tmp_path):
    """Pillow keeps the high byte (500 -> 1); the policy is round(v / 257) (500 -> 2)."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 65536, (9, 7, 3), dtype=np.uint16)
    rgb[0, 0] = (500, 65535, 128)
    expected = np.round(rgb / 257.0).astype(np.uint8)
    (tmp_path / "rgb16.png").write_bytes(_png16(rgb, 2))
    got = read_image(tmp_path / "rgb16.png")
    assert got.shape == (9, 7, 3) and np.array_equal(got, expected)
    assert tuple(got[0, 0]) == (2, 255, 0)
    # RGBA: alpha dropped, same rounding
    rgba = np.concatenate([rgb, np.full((9, 7, 1), 1234, np.uint16)], axis=2)
    (tmp_path / "rgba16.png").write_bytes(_png16(rgba, 6))
    assert np.array_equal(read_image(tmp_path / "rgba16.png"), expected)
    # gray + alpha: stays one channel (Pillow alone gives three)
    la = np.stack([rgb[:, :, 0], np.full((9, 7), 65535, np.uint16)], axis=2)
    (tmp_path / "la16.png").write_bytes(_png16(la, 4))
    gray = read_image(tmp_path / "la16.png")
    assert gray.shape == (9, 7, 1) and np.array_equal(gray[:, :, 0], expected[:, :, 0])


def test_16bit_rgb_tiff_is_rounded_as_im2uint8(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    rgb = np.random.default_rng(1).integers(0, 65536, (6, 5, 3), dtype=np.uint16)
    rgb[0, 0] = (500, 0, 65535)
    for order, compression in (("<", None), (">", None), ("<", "zlib")):
        path = tmp_path / f"rgb16{order == '>'}{compression}.tif"
        tifffile.imwrite(path, rgb, byteorder=order, compression=compression)
        assert np.array_equal(read_image(path), np.round(rgb / 257.0).astype(np.uint8))


# ---------------------------------------------------------------------------------------------
# paths from outside data: parquet names, card templates, archive members


def _parquet_snapshot(tmp_path: Path, names: list[str]) -> Path:
    import datasets as hf_datasets

    png = (DATA / "Set5/HR/baby.png").read_bytes()
    table = hf_datasets.Dataset.from_dict(
        {"name": names, "hr": [{"bytes": png, "path": None} for _ in names]}
    ).cast_column("hr", hf_datasets.Image())
    snapshot = tmp_path / "snapshot"
    (snapshot / "data").mkdir(parents=True)
    table.to_parquet(str(snapshot / "data" / "test-00000.parquet"))
    return snapshot


def _parquet_card(card_dir):
    layout = {
        "name": "hub-parquet",
        "hr": "HR/{name}.png",
        "parquet": {"files": "data/*.parquet", "name": "name", "hr": "hr"},
    }
    card = card_dir(
        "Set5",
        source={"hub": {"repo": "repro-test/set5-parquet", "revision": REVISION}},
        layouts=[layout],
        sha256={},
    )
    return card, card.layouts[0]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("bad", ["../escape", "/tmp/abs", "sub/dir", "back\\slash", "nul\0x", ".."])
def test_parquet_names_cannot_leave_the_cache(tmp_path, card_dir, bad):
    from repro.paths import cache_dir

    card, layout = _parquet_card(card_dir)
    snapshot = _parquet_snapshot(tmp_path, ["baby", bad])
    with pytest.raises(DataError, match="not a plain file name") as exc:
        materialise_parquet(card, layout, snapshot)
    assert repr(bad) in _one_line(exc)
    parent = cache_dir() / "datasets" / "Set5"
    assert _leftovers(parent) == []  # no target, no temporary folder
    assert not (cache_dir() / "datasets" / "escape.png").exists()
    assert not (tmp_path / "escape.png").exists()


def test_parquet_duplicate_names_are_refused(tmp_path, card_dir):
    card, layout = _parquet_card(card_dir)
    with pytest.raises(DataError, match="'baby' twice"):
        materialise_parquet(card, layout, _parquet_snapshot(tmp_path, ["baby", "baby"]))


def test_parquet_is_written_completely_or_not_at_all(tmp_path, card_dir):
    """A half-written folder from an interrupted run (no .complete) is replaced, not trusted."""
    from repro.paths import cache_dir

    card, layout = _parquet_card(card_dir)
    target = cache_dir() / "datasets" / "Set5" / REVISION
    (target / "HR").mkdir(parents=True)
    (target / "HR" / "stale.png").write_bytes(b"half")
    out = materialise_parquet(card, layout, _parquet_snapshot(tmp_path, ["baby", "bird"]))
    assert out == target and (target / ".complete").is_file()
    assert sorted(p.name for p in (target / "HR").iterdir()) == ["baby.png", "bird.png"]
    assert _leftovers(target.parent) == [REVISION]


@pytest.mark.parametrize(
    "override",
    [
        {"layouts": [{"name": "evil", "hr": "../{name}.png"}]},
        {"layouts": [{"name": "evil", "hr": "/etc/{name}.png"}]},
        {"layouts": [{"name": "evil", "hr": "HR/../../{name}.png"}]},
        {"layouts": [{"name": "evil", "hr": "HR/x.png"}]},  # no {name}
        {"layouts": [{"name": "evil", "hr": "hr/{name}/hr{view}.png", "views": ["..", "1"]}]},
        {"local_dirs": ["../../elsewhere"]},
        {"local_dirs": ["/abs/Set5"]},
        {"source": {"hub": {"repo": "a/b", "revision": REVISION, "subdir": "../.."}}},
    ],
)
def test_card_paths_outside_the_folder_are_refused_on_load(card_dir, override):
    with pytest.raises(SpecError, match="dataset card .*Set5.yaml") as exc:
        card_dir("Set5", **override)
    _one_line(exc)


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as t:
        for info, data in members:
            info.size = len(data) if data is not None else 0
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def _snapshot(tmp_path: Path) -> Path:
    snapshot = tmp_path / "snapshot" / "data"
    snapshot.mkdir(parents=True)
    return snapshot.parent


def _assert_nothing_left(tmp_path: Path) -> None:
    from repro.paths import cache_dir

    assert _leftovers(cache_dir() / "datasets" / "Set5") == []
    assert not list(tmp_path.rglob("evil*"))


@pytest.mark.parametrize(
    "member, why",
    [
        (_file("../evil.png"), "outside the dataset folder"),
        (_file("/tmp/evil-abs.png"), "outside the dataset folder"),
        (_file("Set5_HR/../../evil.png"), "outside the dataset folder"),
        (_link("Set5_HR/evil-sym.png", "/etc/passwd", tarfile.SYMTYPE), "a link"),
        (_link("Set5_HR/evil-hard.png", "Set5_HR/a.png", tarfile.LNKTYPE), "a link"),
        (_link("Set5_HR/evil-fifo", "", tarfile.FIFOTYPE), "special file"),
    ],
)
def test_tar_members_must_stay_inside_and_be_plain(tmp_path, member, why):
    snapshot = _snapshot(tmp_path)
    _tar(snapshot / "data" / "Set5_HR.tar.gz", [_file("Set5_HR/a.png"), member])
    with pytest.raises(DataError, match=why) as exc:
        extract_archives(get_card("Set5"), snapshot)
    _one_line(exc)
    _assert_nothing_left(tmp_path)


def test_zip_members_must_stay_inside_and_not_be_links(tmp_path):
    snapshot = _snapshot(tmp_path)
    with zipfile.ZipFile(snapshot / "data" / "Set5.zip", "w") as z:
        z.writestr("Set5_HR/a.png", b"x")
        z.writestr("../evil.png", b"x")
    with pytest.raises(DataError, match="'../evil.png'.*outside"):
        extract_archives(get_card("Set5"), snapshot)
    _assert_nothing_left(tmp_path)
    with zipfile.ZipFile(snapshot / "data" / "Set5.zip", "w") as z:
        link = zipfile.ZipInfo("Set5_HR/evil-link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
    with pytest.raises(DataError, match="a link"):
        extract_archives(get_card("Set5"), snapshot)
    _assert_nothing_left(tmp_path)


def test_archive_bombs_are_bounded(tmp_path, monkeypatch):
    snapshot = _snapshot(tmp_path)
    _tar(
        snapshot / "data" / "Set5_HR.tar.gz", [_file(f"Set5_HR/{i}.png", b"x" * 600) for i in "abc"]
    )
    monkeypatch.setattr(archives, "MAX_ARCHIVE_MEMBERS", 2)
    with pytest.raises(DataError, match="more than 2 files"):
        extract_archives(get_card("Set5"), snapshot)
    monkeypatch.setattr(archives, "MAX_ARCHIVE_MEMBERS", 200_000)
    monkeypatch.setattr(archives, "MAX_ARCHIVE_BYTES", 1000)
    with pytest.raises(DataError, match="archive bomb"):
        extract_archives(get_card("Set5"), snapshot)
    _assert_nothing_left(tmp_path)


def test_corrupt_archives_are_one_line_and_leave_nothing(tmp_path):
    """A good archive, then a truncated .tar.gz (gzip: EOFError) or a garbage .zip."""
    snapshot = _snapshot(tmp_path)
    good = _tar(snapshot / "data" / "Set5_HR.tar.gz", [_file("Set5_HR/a.png", b"x" * 5000)])
    payload = np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    bad = _tar(tmp_path / "big.tar.gz", [_file("Set5_LR_x2/a.png", payload)])
    (snapshot / "data" / "Set5_LR_x2.tar.gz").write_bytes(bad.read_bytes()[:8000])
    with pytest.raises(DataError, match="cannot unpack Set5_LR_x2.tar.gz") as exc:
        extract_archives(get_card("Set5"), snapshot)
    _one_line(exc)
    _assert_nothing_left(tmp_path)
    (snapshot / "data" / "Set5_LR_x2.tar.gz").unlink()
    (snapshot / "data" / "Set5_LR_x3.zip").write_bytes(b"PK\x03\x04" + payload[:3000])
    with pytest.raises(DataError, match="cannot unpack Set5_LR_x3.zip"):
        extract_archives(get_card("Set5"), snapshot)
    _assert_nothing_left(tmp_path)
    assert good.is_file()


# ---------------------------------------------------------------------------------------------
# missing data is loud


def test_missing_data_root_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(DataError, match="--data-root .*nowhere does not exist") as exc:
        open_dataset("Set5", 2, data_root=tmp_path / "nowhere")
    assert not isinstance(exc.value, MissingDataError)  # a table run must stop, not skip
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="--data-root .*file is not a folder"):
        open_dataset("Set5", 2, data_root=tmp_path / "file")


def test_missing_repro_data_entry_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "typo"))
    with pytest.raises(DataError, match="REPRO_DATA entry .*typo does not exist"):
        open_dataset("Set5", 2)


def test_cli_names_the_missing_data_root_in_one_line(tmp_path, capsys):
    from repro.cli import main

    assert main(["verify", "Set5", "--data-root", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert "nowhere does not exist" in err and "\n" not in err and "Traceback" not in err


def test_dataset_found_nowhere_names_every_place_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_SHARED", str(tmp_path / "no-shared"))
    with pytest.raises(MissingDataError) as exc:
        open_dataset("Set5", 2, data_root=tmp_path, use_hub=False)
    text = _one_line(exc)
    for word in ("--data-root", "REPRO_DATA", "REPRO_SHARED", "eugenesiow/Set5"):
        assert word in text


# ---------------------------------------------------------------------------------------------
# an unreachable Hub is decided once per process


def _dead_port() -> int:
    import socket

    with socket.socket() as s:  # bound then closed: nothing listens there afterwards
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _count_snapshot_calls(monkeypatch, fake=None) -> list[bool]:
    """Record local_files_only of every snapshot_download call (around the real one by default)."""
    import huggingface_hub

    real = huggingface_hub.snapshot_download
    calls: list[bool] = []

    def counted(*args, **kwargs):
        calls.append(bool(kwargs.get("local_files_only")))
        return (fake or real)(*args, **kwargs)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", counted)
    return calls


def test_unreachable_hub_is_probed_once_then_only_the_cache_is_read(tmp_path, monkeypatch):
    """HF_ENDPOINT on a loopback port where nothing listens, not offline, empty HF cache."""
    import huggingface_hub.constants as hfc
    import huggingface_hub.utils as hfu

    endpoint = f"http://127.0.0.1:{_dead_port()}"
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    # huggingface_hub read those at import: set the constants it consults at call time
    monkeypatch.setattr(hfc, "ENDPOINT", endpoint)
    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hfc, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    if hasattr(hfu, "close_session"):
        hfu.close_session()  # a fresh client, made under the environment above
    probes: list[str] = []
    real_probe = hub._probe_hub
    monkeypatch.setattr(hub, "_probe_hub", lambda: probes.append("probe") or real_probe())
    calls = _count_snapshot_calls(monkeypatch)
    messages = []
    for name in ("Set5", "Set14"):
        with pytest.raises(MissingDataError, match="unreachable") as exc:
            hub_snapshot(get_card(name))
        messages.append(_one_line(exc))
    assert probes == ["probe"]  # one decision per process
    assert calls == [True, True]  # no snapshot_download call with network access
    assert "--data-root" in messages[1] and "REPRO_DATA" in messages[1]


class ConnectError(Exception):
    """Named as httpx's: what snapshot_download's LocalEntryNotFoundError is raised from."""


class RepositoryNotFoundError(Exception):
    pass


def test_connection_lost_during_snapshot_download_is_remembered(monkeypatch):
    import huggingface_hub.constants as hfc

    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "_probe_hub", lambda: "")  # the probe got through

    def fake(*args, local_files_only=False, **kwargs):
        if local_files_only:
            raise FileNotFoundError("not in the cache")
        try:
            raise ConnectError("refused")
        except ConnectError as cause:
            raise OSError("cannot locate the files on the Hub") from cause

    calls = _count_snapshot_calls(monkeypatch, fake)
    with pytest.raises(MissingDataError, match="connection lost"):
        hub_snapshot(get_card("Set5"))
    with pytest.raises(MissingDataError, match="connection lost"):
        hub_snapshot(get_card("Set14"))
    assert calls == [False, True]


def test_a_missing_repo_is_not_taken_for_a_network_failure(monkeypatch):
    import huggingface_hub.constants as hfc

    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "_probe_hub", lambda: "")

    def fake(*args, **kwargs):
        raise RepositoryNotFoundError("404")

    calls = _count_snapshot_calls(monkeypatch, fake)
    for name in ("Set5", "Set14"):
        with pytest.raises(MissingDataError, match="RepositoryNotFoundError"):
            hub_snapshot(get_card(name))
    assert calls == [False, False]  # the Hub answers: each set is asked for


def test_hf_hub_offline_never_touches_the_network(tmp_path, monkeypatch):
    import huggingface_hub.constants as hfc

    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hfc, "HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setattr(hub, "_probe_hub", lambda: pytest.fail("probed while offline"))
    calls = _count_snapshot_calls(monkeypatch)
    with pytest.raises(MissingDataError, match="HF_HUB_OFFLINE=1"):
        hub_snapshot(get_card("Set5"))
    assert calls == [True]


# ---------------------------------------------------------------------------------------------
# too-small and mismatched images in the metrics


def _img(h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def _metric_cases():
    from repro.metrics.fidelity import psnr, ssim
    from repro.metrics.lpips import lpips
    from repro.metrics.niqe import niqe
    from repro.metrics.spherical import ws_psnr, ws_ssim
    from repro.metrics.stereo import stereo_scores, view_scores

    nan = _img(20, 20).astype(np.float64)
    nan[3, 3, 0] = np.nan
    return {
        "lpips under 31 px": (lambda: lpips(_img(16, 40), _img(16, 40)), "at least 31x31"),
        "lpips crop leaves 30 px": (lambda: lpips(_img(40, 40), _img(40, 40), crop=5), "31x31"),
        "lpips sizes differ": (lambda: lpips(_img(40, 40), _img(41, 40)), "same shape"),
        "ssim under the window": (lambda: ssim(_img(10, 30), _img(10, 30)), "11x11"),
        "ssim crop leaves 10 px": (lambda: ssim(_img(20, 20), _img(20, 20), crop=5), "11x11"),
        "ssim skimage under 7": (lambda: ssim(_img(6, 6), _img(6, 6), kind="skimage"), "7x7"),
        "psnr crop half": (lambda: psnr(_img(20, 20), _img(20, 20), crop=10), "cannot crop"),
        "psnr sizes differ": (lambda: psnr(_img(20, 20), _img(20, 21)), "sizes differ"),
        "ssim sizes differ": (lambda: ssim(_img(20, 20), _img(21, 20)), "sizes differ"),
        "psnr NaN pixels": (lambda: psnr(nan, _img(20, 20)), "NaN or inf"),
        "niqe under two blocks": (lambda: niqe(_img(100, 100)), "two 96x96 blocks"),
        "niqe crop all": (lambda: niqe(_img(200, 200), crop=100), "removes all"),
        "niqe flat": (lambda: niqe(np.zeros((192, 192, 3), np.uint8)), "textured"),
        "ws_ssim under the window": (lambda: ws_ssim(_img(10, 30), _img(10, 30)), "11x11"),
        "ws_psnr sizes differ": (lambda: ws_psnr(_img(10, 30), _img(11, 30)), "sizes differ"),
        "left_crop64 at 64 px": (
            lambda: stereo_scores(_img(20, 64), None, _img(20, 64), None, protocol="left_crop64"),
            "wider than 64",
        ),
        "left_crop64 leaves 6 px": (
            lambda: stereo_scores(_img(20, 70), None, _img(20, 70), None, protocol="left_crop64"),
            "leaves 6x20",
        ),
        "stereo view under 7": (lambda: view_scores(_img(5, 5), _img(5, 5), "left"), "7x7"),
        "stereo views differ": (
            lambda: stereo_scores(_img(20, 20), _img(20, 21), _img(20, 20), _img(20, 21)),
            "differ in size",
        ),
    }


@pytest.mark.parametrize("case", list(_metric_cases()))
def test_too_small_or_mismatched_images_are_a_clean_error(case):
    call, match = _metric_cases()[case]
    with pytest.raises(DataError, match=match) as exc:
        call()
    _one_line(exc)


# ---------------------------------------------------------------------------------------------
# provenance names no absolute path of this machine


def _assert_portable(described: dict, *absolute: Path) -> None:
    text = json.dumps(described)
    for path in absolute:
        assert str(path) not in text


def test_describe_labels_the_root_by_its_base(tmp_path, monkeypatch, set5_copy):
    from repro.paths import shared_root

    shared = open_dataset("Set5", 2)
    assert shared.describe()["root"] == "<shared>/data/Set5" and shared.root.is_absolute()
    _assert_portable(shared.describe(), shared_root())
    mine = open_dataset("Set5", 2, data_root=set5_copy.parent)
    assert mine.describe()["root"] == "<data-root>/Set5"
    sample = mine.load("baby")
    assert sample.meta["files"] == ["HR/baby.png", "LR_bicubic/X2/babyx2.png"]
    monkeypatch.setenv("REPRO_DATA", str(set5_copy.parent))
    assert open_dataset("Set5", 2).describe()["root"] == "<REPRO_DATA>/Set5"
    _assert_portable(mine.describe(), tmp_path)


def test_describe_of_hub_sets_names_the_cache(tmp_path, monkeypatch, card_dir):
    card = card_dir(
        "Set5", source={"hub": {"repo": "repro-test/set5", "revision": REVISION, "subdir": "Set5"}}
    )
    rel = card.layouts[0].hr.replace("{name}", "baby")
    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "repro-test/set5", REVISION, {"Set5/" + rel: DATA / "Set5" / rel})
    _offline_hub(monkeypatch, cache, tmp_path)
    data = open_dataset("Set5", 2, data_root=tmp_path / "empty")
    expected = f"<hf-cache>/datasets--repro-test--set5/snapshots/{REVISION}/Set5"
    assert data.describe()["root"] == expected
    _assert_portable(data.describe(), tmp_path)


def test_describe_of_unpacked_archives_names_the_repro_cache(tmp_path, monkeypatch, card_dir):
    tar = tmp_path / "Set5_HR.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(DATA / "Set5/HR/baby.png", arcname="Set5_HR/baby.png")
    card_dir(
        "Set5",
        source={"hub": {"repo": "repro-test/set5-tar", "revision": REVISION}},
        layouts=[{"name": "extracted", "hr": "Set5_HR/{name}.png"}],
        sha256={},
    )
    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "repro-test/set5-tar", REVISION, {"data/Set5_HR.tar.gz": tar})
    _offline_hub(monkeypatch, cache, tmp_path)
    data = open_dataset("Set5", 4, data_root=tmp_path / "empty")
    assert data.describe()["root"] == f"<repro-cache>/datasets/Set5/{REVISION}"
    _assert_portable(data.describe(), tmp_path)
