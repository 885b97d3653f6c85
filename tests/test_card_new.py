"""`repro card new DIR`: a card for a folder of your own images, loadable like the shipped ones."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from repro.cli import main
from repro.data.cards import get_card, load_card
from repro.data.loaders import open_dataset
from repro.paths import REPO_ROOT
from tests.conftest import DATA


def _new(capsys, *args) -> tuple[int, str, str]:
    rc = main(["card", "new", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_an_edsr_shaped_folder_round_trips_with_the_shipped_hashes(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "data" / "MySet"
    shutil.copytree(DATA / "Set5", folder)
    cards = tmp_path / "cards"
    cards.mkdir()
    rc, out, err = _new(capsys, str(folder), "-o", str(cards / "MySet.yaml"))
    assert rc == 0, err
    assert f"wrote {cards / 'MySet.yaml'}" in out
    card = load_card(cards / "MySet.yaml")
    # every file hashed, and the hashes are those the shipped Set5 card records for the same files
    assert card.sha256 == load_card(REPO_ROOT / "datasets" / "Set5.yaml").sha256
    for rel, digest in card.sha256.items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest
    assert (card.images, card.scales, card.task) == (5, (2, 3, 4), "classic")
    assert [lay.name for lay in card.layouts] == ["edsr-benchmark", "hr-only"]
    # Set5's widths run 228-512 and its heights 256-512 (woman is 228x344)
    assert "5 HR images (.png) of 228-512 x 256-512 pixels" in card.description
    # the dataset loader finds the folder with it and verifies every file
    monkeypatch.setenv("REPRO_CARDS", str(cards))
    data = open_dataset("MySet", 4, data_root=tmp_path / "data")
    assert data.layout.name == "edsr-benchmark" and len(data) == 5
    for name in data.names:
        data.verify(name)
    assert data.unverified == 0 and len(data.file_sha256) == 10


def test_a_flat_folder_of_another_name_is_found_under_its_own_name(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    shutil.copytree(DATA / "Set14" / "HR", folder)
    cards = tmp_path / "cards"
    cards.mkdir()
    rc, _, err = _new(capsys, str(folder), "-o", str(cards / "Holiday.yaml"), "--scales", "4")
    assert rc == 0, err
    monkeypatch.setenv("REPRO_CARDS", str(cards))
    card = get_card("Holiday")
    assert card.local_dirs == ("Holiday", "photos") and card.scales == (4,)
    assert card.layouts[0].hr == "{name}.png" and card.images == 14
    data = open_dataset("Holiday", 4, data_root=tmp_path)
    assert len(data) == 14 and data.lr_source == "bicubic-matlab-symmetric"


def test_an_lr_only_folder_is_a_real_world_set(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "RealPhotos"
    shutil.copytree(DATA / "RealSRSet" / "LR", folder)
    rc, _, err = _new(capsys, str(folder), "--out", str(tmp_path), "--lr-only", "--task", "real")
    assert (tmp_path / "cards" / "RealPhotos.yaml").is_file()  # the workspace's cards/
    assert rc == 0, err
    card = load_card(tmp_path / "cards" / "RealPhotos.yaml")
    assert card.layouts[0].lr == "{name}.png" and card.layouts[0].hr is None
    assert (card.protocol.channel, card.protocol.crop, card.scales) == ("rgb", 0, (4,))
    assert card.sha256 == {
        f"{k.removeprefix('LR/')}": v
        for k, v in load_card(REPO_ROOT / "datasets" / "RealSRSet.yaml").sha256.items()
    }


def test_a_card_is_never_overwritten_without_force(capsys, tmp_path):
    folder = tmp_path / "Mine"
    shutil.copytree(DATA / "Set5" / "HR", folder)
    assert _new(capsys, str(folder), "--out", str(tmp_path))[0] == 0
    path = tmp_path / "cards" / "Mine.yaml"
    path.write_text(path.read_text() + "# edited by hand\n")
    rc, _, err = _new(capsys, str(folder), "--out", str(tmp_path))
    assert rc == 2 and "exists; pass --force" in err
    assert path.read_text().endswith("# edited by hand\n")
    assert _new(capsys, str(folder), "--out", str(tmp_path), "--force")[0] == 0
    assert "edited by hand" not in path.read_text()


@pytest.mark.parametrize(
    "case, needle",
    [
        ("mixed-with-lr", "LR files pair up by one file type"),
        ("nested", "is in a subfolder"),
        ("bad-name", "cannot name a card"),
        ("empty", "holds no images"),
        ("stereo", "a folder card is one of"),
        ("lr-mismatch", "does not hold exactly one {name}x4.png"),
    ],
)
def test_folders_a_card_cannot_describe_are_refused(case, needle, capsys, tmp_path):
    folder = tmp_path / "Set"
    folder.mkdir()
    png = DATA / "Set5" / "HR" / "bird.png"
    extra = []
    if case == "mixed-with-lr":
        shutil.copytree(DATA / "Set5" / "HR", folder / "HR")
        shutil.copy(png, folder / "HR" / "extra.jpg")
        shutil.copytree(DATA / "Set5" / "LR_bicubic" / "X4", folder / "LR_bicubic" / "X4")
    elif case == "nested":
        (folder / "sub").mkdir()
        shutil.copy(png, folder / "sub")
    elif case == "lr-mismatch":
        shutil.copytree(DATA / "Set5" / "HR", folder / "HR")
        shutil.copytree(DATA / "Set5" / "LR_bicubic" / "X4", folder / "LR_bicubic" / "X4")
        (folder / "LR_bicubic" / "X4" / "birdx4.png").unlink()
    else:
        shutil.copy(png, folder)
        extra = {"bad-name": ["--name", "my set"], "stereo": ["--task", "stereo"]}.get(case, [])
        if case == "empty":
            (folder / "bird.png").unlink()
    rc, _, err = _new(capsys, str(folder), "--out", str(tmp_path), *extra)
    assert rc == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.rglob("*.yaml"))
