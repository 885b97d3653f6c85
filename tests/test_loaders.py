"""Dataset cards and loaders on the shipped data, bad input, and the Hub path (offline cache)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from repro.data.cards import get_card
from repro.data.loaders import open_dataset
from repro.errors import ChecksumError, DataError, MissingDataError, UnknownNameError
from repro.imageio import read_image
from tests.conftest import DATA


def test_set5_official_lr_pairs_fit_and_verify():
    data = open_dataset("Set5", 4)
    assert data.names == ["baby", "bird", "butterfly", "head", "woman"]
    assert data.layout.name and data.lr_source == "official" and data.complete
    for sample in data:
        h, w, c = sample.lr.shape
        assert sample.hr.shape == (4 * h, 4 * w, c) and c == 3
    # every file of Set5 x4 has its sha256 in the card and matched
    assert data.unverified == 0 and len(data.file_sha256) == 10


def test_b100_hr_is_mod_cropped_to_lr_times_scale():
    data = open_dataset("B100", 2).limit(2)
    sample = data.load(data.names[0])
    hr_full = read_image(data.files(data.names[0])["hr"][0])
    assert sorted(hr_full.shape[:2]) == [321, 480]  # 321 is odd: one line goes at x2
    assert sorted(sample.hr.shape[:2]) == [320, 480]
    assert np.array_equal(sample.hr, hr_full[: sample.hr.shape[0], : sample.hr.shape[1]])


def test_partial_copy_is_flagged_incomplete():
    data = open_dataset("Urban100", 4)
    assert len(data) == 20 and not data.complete


def test_lr_made_the_papers_way_when_absent():
    data = open_dataset("Manga109", 4)  # HR only in ../shared
    sample = data.load(data.names[0])
    assert sample.meta["lr_source"] == "bicubic-matlab-symmetric"
    assert sample.hr.shape[0] == 4 * sample.lr.shape[0]
    assert sample.hr.shape[1] == 4 * sample.lr.shape[1]


def test_bicubic_lr_mode_close_to_official_lr():
    official = open_dataset("Set5", 2).load("baby").lr
    made = open_dataset("Set5", 2, lr_mode="bicubic").load("baby").lr
    assert (official == made).mean() > 0.99


def test_grayscale_image_stays_one_channel():
    sample = open_dataset("Set14", 3).load("bridge")
    assert sample.lr.shape[2] == 1 and sample.hr.shape[2] == 1 and sample.meta["gray"]


def test_missing_dataset_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_SHARED", str(tmp_path / "nowhere"))
    with pytest.raises(MissingDataError, match="not found.*put it in"):
        open_dataset("Set5", 2, data_root=tmp_path, use_hub=False)
    # with the Hub allowed but offline and nothing cached: still one clear line
    with pytest.raises(MissingDataError, match="from the Hub.*--data-root"):
        open_dataset("Set5", 2, data_root=tmp_path)


def test_unknown_dataset_suggests_names():
    with pytest.raises(UnknownNameError, match="did you mean .*Set14"):
        get_card("Set15")


def test_checksum_mismatch_is_refused(set5_copy):
    path = set5_copy / "HR" / "baby.png"
    img = read_image(path)
    img[0, 0, 0] ^= 1
    Image.fromarray(img).save(path)
    data = open_dataset("Set5", 2, data_root=set5_copy.parent)
    with pytest.raises(ChecksumError, match="checksum mismatch.*re-fetch Set5"):
        data.load("baby")


def test_truncated_png_is_refused(tmp_path):
    src = DATA / "Set5" / "HR" / "bird.png"
    dst = tmp_path / "bird.png"
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(DataError, match="cannot decode image"):
        read_image(dst)


def test_non_image_file_in_dataset_folder_is_refused(set5_copy):
    (set5_copy / "HR" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match="non-image file .*notes.txt"):
        open_dataset("Set5", 2, data_root=set5_copy.parent)


def test_lr_of_the_wrong_scale_is_refused(set5_copy, card_dir):
    card_dir("Set5", sha256={})  # no recorded hashes: the size check itself must refuse it
    x3 = set5_copy / "LR_bicubic" / "X3" / "babyx3.png"
    shutil.copy(x3, set5_copy / "LR_bicubic" / "X2" / "babyx2.png")
    data = open_dataset("Set5", 2, data_root=set5_copy.parent)
    with pytest.raises(DataError, match="does not fit LR .* at x2"):
        data.load("baby")


def test_rgba_and_16bit_images_follow_the_documented_policy(tmp_path):
    rgb = read_image(DATA / "Set5" / "HR" / "bird.png")
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 7, np.uint8)], axis=2)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    assert np.array_equal(read_image(tmp_path / "rgba.png"), rgb)  # alpha dropped
    gray16 = rgb[:, :, 1].astype(np.uint16) * 257  # exact 8 -> 16 bit
    Image.fromarray(gray16).save(tmp_path / "g16.png")
    back = read_image(tmp_path / "g16.png")
    assert back.shape[2] == 1 and np.array_equal(back[:, :, 0], rgb[:, :, 1])


def _fake_hub_cache(
    cache: Path, repo: str, revision: str, files: dict[str, Path], ref: str = "main"
) -> None:
    """Lay out files as huggingface_hub does: blobs by sha256, snapshot symlinks, refs."""
    base = cache / ("datasets--" + repo.replace("/", "--"))
    (base / "refs").mkdir(parents=True)
    (base / "refs" / ref).write_text(revision)
    for rel, src in files.items():
        blob = base / "blobs" / hashlib.sha256(src.read_bytes()).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, blob)
        link = base / "snapshots" / revision / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)


REVISION = "0123456789abcdef0123456789abcdef01234567"


def _offline_hub(monkeypatch, cache: Path, tmp_path: Path) -> None:
    """Point huggingface_hub at a fake cache, offline, with no shared data to fall back on."""
    import huggingface_hub.constants as hfc

    (tmp_path / "empty").mkdir(exist_ok=True)  # the --data-root of these tests: must exist

    monkeypatch.setattr(hfc, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("REPRO_SHARED", str(tmp_path / "no-shared"))


def test_hub_path_resolves_from_local_cache_offline(tmp_path, monkeypatch, card_dir):
    import huggingface_hub.constants as hfc

    card = card_dir(
        "Set5", source={"hub": {"repo": "repro-test/set5", "revision": REVISION, "subdir": "Set5"}}
    )
    layout = card.layouts[0]
    files = {}
    for name in ("baby", "bird"):
        rel_hr = layout.hr.replace("{name}", name)
        rel_lr = layout.lr.replace("{name}", name).replace("{scale}", "2")
        files["Set5/" + rel_hr] = DATA / "Set5" / rel_hr
        files["Set5/" + rel_lr] = DATA / "Set5" / rel_lr
    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "repro-test/set5", REVISION, files)
    _offline_hub(monkeypatch, cache, tmp_path)
    data = open_dataset("Set5", 2, data_root=tmp_path / "empty")
    assert data.origin == f"hub:repro-test/set5@{REVISION}"
    assert data.names == ["baby", "bird"]
    sample = data.load("bird")
    assert sample.hr.shape == (288, 288, 3) and data.unverified == 0  # hashes from the card
    # offline with an empty cache: a clear error, no network
    monkeypatch.setattr(hfc, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(DataError, match="cannot get .* from the Hub"):
        open_dataset("Set5", 2, data_root=tmp_path / "empty")


def test_real_cards_pin_hub_revisions_or_say_why():
    from repro.data.cards import all_cards

    for card in all_cards().values():
        if card.hub is not None and card.hub.revision is None:
            assert "pin" in card.source_note.lower(), card.name


def test_hub_parquet_dataset_through_hf_datasets(tmp_path, monkeypatch, card_dir):
    """A Hub dataset stored as parquet (image columns) is read with `datasets`, byte-exact."""
    import datasets as hf_datasets

    names = ["baby", "head"]
    table = (
        hf_datasets.Dataset.from_dict(
            {
                "name": names,
                "hr": [
                    {"bytes": (DATA / f"Set5/HR/{n}.png").read_bytes(), "path": None} for n in names
                ],
                "lr_x2": [
                    {"bytes": (DATA / f"Set5/LR_bicubic/X2/{n}x2.png").read_bytes(), "path": None}
                    for n in names
                ],
            }
        )
        .cast_column("hr", hf_datasets.Image())
        .cast_column("lr_x2", hf_datasets.Image())
    )
    parquet = tmp_path / "test-00000.parquet"
    table.to_parquet(str(parquet))
    card = card_dir(
        "Set5",
        source={"hub": {"repo": "repro-test/set5-parquet", "revision": REVISION}},
        layouts=[
            {
                "name": "hub-parquet",
                "hr": "HR/{name}.png",
                "lr": "LR_bicubic/X{scale}/{name}x{scale}.png",
                "parquet": {
                    "files": "data/*.parquet",
                    "name": "name",
                    "hr": "hr",
                    "lr": "lr_x{scale}",
                },
            }
        ],
    )
    cache = tmp_path / "hub"
    _fake_hub_cache(
        cache, "repro-test/set5-parquet", REVISION, {"data/test-00000.parquet": parquet}
    )
    _offline_hub(monkeypatch, cache, tmp_path)
    data = open_dataset("Set5", 2, data_root=tmp_path / "empty")
    assert data.names == names and card.layouts[0].parquet
    sample = data.load("head")
    assert data.unverified == 0  # bytes written as stored: the card's sha256 still match
    assert np.array_equal(sample.lr, read_image(DATA / "Set5/LR_bicubic/X2/headx2.png"))


def test_flickr1024_hub_parquet_gives_stereo_pairs_by_row(tmp_path, monkeypatch):
    """The real Flickr1024 card: left/right columns of one row become views 0/1 of one pair,
    and the abbreviated pin resolves to the full commit, which provenance records."""
    import datasets as hf_datasets

    from repro.imageio import write_image

    left = read_image(DATA / "KITTI2012_sample1/original/000000_10_L.png")[:64, :96]
    right = read_image(DATA / "KITTI2012_sample1/original/000000_10_R.png")[:64, :96]
    pngs = {}
    for key, img in {"l": left, "r": right, "l2": left[::-1], "r2": right[::-1]}.items():
        write_image(tmp_path / f"{key}.png", img)
        pngs[key] = {"bytes": (tmp_path / f"{key}.png").read_bytes(), "path": None}
    table = hf_datasets.Dataset.from_dict(
        {"left_image": [pngs["l"], pngs["l2"]], "right_image": [pngs["r"], pngs["r2"]]}
    )
    for col in ("left_image", "right_image"):
        table = table.cast_column(col, hf_datasets.Image())
    parquet = tmp_path / "test-00000-of-00001.parquet"
    table.to_parquet(str(parquet))
    card = get_card("Flickr1024")
    full = card.hub.revision + "0" * (40 - len(card.hub.revision))
    cache = tmp_path / "hub"
    _fake_hub_cache(
        cache,
        card.hub.repo,
        full,
        {"data/test-00000-of-00001.parquet": parquet},
        ref=card.hub.revision,
    )
    _offline_hub(monkeypatch, cache, tmp_path)
    data = open_dataset("Flickr1024", 4, data_root=tmp_path / "empty")
    assert data.origin == f"hub:{card.hub.repo}@{full}"
    assert data.names == ["0001", "0002"]
    pair = data.load("0002")
    assert pair.hr.shape == (64, 96, 6)
    assert np.array_equal(pair.hr[..., :3], left[::-1])
    assert np.array_equal(pair.hr[..., 3:], right[::-1])
    assert pair.lr.shape == (16, 24, 6) and data.lr_source == "bicubic-matlab-symmetric"


def test_hub_archives_are_unpacked_once(tmp_path, monkeypatch, card_dir):
    """Hub sets shipped as tar.gz (the eugenesiow/Set5 way) are unpacked into the cache."""
    import tarfile

    tar = tmp_path / "Set5_HR.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        for n in ("baby", "bird"):
            t.add(DATA / f"Set5/HR/{n}.png", arcname=f"Set5_HR/{n}.png")
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
    assert data.names == ["baby", "bird"] and data.lr_source == "bicubic-matlab-symmetric"
    assert data.load("baby").lr.shape == (128, 128, 3)


def test_b100_lr_made_here_equals_the_official_files():
    """B100's card names the edge rule of the MATLAB that made its LR: every pixel then matches."""
    official = open_dataset("B100", 3).limit(3)
    made = open_dataset("B100", 3, lr_mode="bicubic").limit(3)
    assert made.lr_source == "bicubic-matlab-replicate"
    for name in official.names:
        assert np.array_equal(official.load(name).lr, made.load(name).lr)
