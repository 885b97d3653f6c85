"""Your own cards and specs beside the shipped ones (issue #21): they add, a clash is one line
unless you override, and `repro card new` writes into the workspace, never the package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from repro.cli import main
from repro.data.cards import all_cards, get_card
from repro.data.loaders import open_dataset
from repro.errors import ConfigError
from repro.paths import REPO_ROOT, cards_dir
from repro.tables.spec import SPECS_DIR, load_spec, table_ids
from tests.conftest import DATA

SHIPPED_CARDS = sorted(p.name for p in cards_dir().glob("*.yaml"))


def _card(folder: Path, name: str, like: str = "Set5", **changes) -> Path:
    """A copy of a shipped card under another name (and local folder)."""
    raw = yaml.safe_load((cards_dir() / f"{like}.yaml").read_text())
    raw.update({"name": name, "local_dirs": [name], **changes})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _spec(folder: Path, table: str, like: str = "bicubic_classic") -> Path:
    text = (SPECS_DIR / f"{like}.yaml").read_text().replace(f"id: {like}", f"id: {table}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{table}.yaml"
    path.write_text(text)
    return path


def test_cards_of_the_workspace_and_repro_cards_add_to_the_shipped(
    workspace, tmp_path, monkeypatch
):
    _card(workspace.cards, "Mine")
    _card(tmp_path / "more", "Theirs")
    monkeypatch.setenv("REPRO_CARDS", str(tmp_path / "more"))
    cards = all_cards()
    assert {"Mine", "Theirs", "Set5", "B100"} <= set(cards)
    assert len(cards) == len(SHIPPED_CARDS) + 2
    # the user's card finds its folder and verifies the files against its sha256
    shutil.copytree(DATA / "Set5", tmp_path / "data" / "Mine")
    data = open_dataset("Mine", 4, data_root=tmp_path / "data")
    assert len(data) == 5 and data.card.path == workspace.cards / "Mine.yaml"
    data.verify(data.names[0])
    assert data.unverified == 0


def test_cards_option_on_the_command_line(tmp_path, capsys):
    _card(tmp_path / "extra", "Holiday")
    assert main(["ls", "datasets", "--json", "--cards", str(tmp_path / "extra")]) == 0
    ids = {d["id"] for d in json.loads(capsys.readouterr().out)}
    assert {"Holiday", "Set5"} <= ids
    assert main(["ls", "datasets", "--cards", str(tmp_path / "nowhere")]) == 2
    assert "--cards" in capsys.readouterr().err


def test_a_card_named_as_a_shipped_one_is_refused_unless_overriding(workspace, monkeypatch):
    _card(workspace.cards, "Set5", like="Set14", description="my own Set5")
    with pytest.raises(ConfigError) as info:
        get_card("Set5")
    message = str(info.value)
    assert "\n" not in message and "Set5.yaml" in message and "--override-shipped" in message
    monkeypatch.setenv("REPRO_OVERRIDE_SHIPPED", "1")
    assert get_card("Set5").description == "my own Set5"  # yours replaces the shipped card
    assert len(all_cards()) == len(SHIPPED_CARDS)


def test_two_user_cards_of_one_name_are_always_refused(workspace, tmp_path, monkeypatch):
    _card(workspace.cards, "Mine")
    _card(tmp_path / "more", "Mine")
    monkeypatch.setenv("REPRO_CARDS", str(tmp_path / "more"))
    monkeypatch.setenv("REPRO_OVERRIDE_SHIPPED", "1")
    with pytest.raises(ConfigError, match="two dataset cards named Mine"):
        all_cards()


def test_a_spec_outside_the_package_is_validated_and_run(tmp_path, capsys, monkeypatch):
    path = _spec(tmp_path / "elsewhere", "my_bicubic")
    ws = tmp_path / "ws"
    assert main(["validate", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["table"] == "my_bicubic"
    argv = ["table", str(path), "--datasets", "Set5", "--limit", "1", "--out", str(ws), "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["table"] == "my_bicubic"
    assert Path(doc["files"]["results:my_bicubic.csv"]) == ws / "results/partial/my_bicubic.csv"
    # in REPRO_SPECS it is a table id like the shipped ones
    monkeypatch.setenv("REPRO_SPECS", str(tmp_path / "elsewhere"))
    assert "my_bicubic" in table_ids() and "bicubic_classic" in table_ids()
    assert load_spec("my_bicubic").path == path.resolve()


def test_a_spec_named_as_a_shipped_one_is_refused_unless_overriding(workspace, monkeypatch):
    mine = _spec(workspace.specs, "bicubic_classic")
    mine.write_text(mine.read_text().replace("title: ", "title: MINE "))
    with pytest.raises(ConfigError, match="table spec .*bicubic_classic.yaml has the name of a"):
        table_ids()
    monkeypatch.setenv("REPRO_OVERRIDE_SHIPPED", "1")
    assert load_spec("bicubic_classic").title.startswith("MINE ")


def test_a_spec_file_with_a_shipped_id_is_refused_unless_overriding(tmp_path, capsys):
    """Run by its path, a copy of a shipped spec would publish results under the shipped id."""
    path = _spec(tmp_path, "bicubic_classic")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "has the id of" in err
    assert main(["validate", str(path), "--override-shipped", "--json"]) == 0
    assert main(["validate", str(SPECS_DIR / "bicubic_classic.yaml"), "--json"]) == 0


# -- repro card new ---------------------------------------------------------------------------
def _shipped_card_files() -> list[str]:
    return sorted(p.name for p in (REPO_ROOT / "datasets").glob("*.yaml"))


def test_card_new_writes_into_the_workspace_never_the_checkout(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "elsewhere" / "MyPhotos"
    shutil.copytree(DATA / "Set5" / "HR", folder)
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.delenv("REPRO_OUT")  # the default workspace, in the current folder
    assert main(["card", "new", "MyPhotos"]) == 0
    assert (tmp_path / "elsewhere" / "repro-workspace" / "cards" / "MyPhotos.yaml").is_file()
    assert _shipped_card_files() == SHIPPED_CARDS  # nothing new beside the shipped cards
    assert "use it: repro eval" in capsys.readouterr().out
    assert get_card("MyPhotos").images == 5  # found where runs look: the workspace's cards/


def test_card_new_takes_what_eval_hr_takes(tmp_path, workspace, capsys):
    """Files that are not images are left out and named; images of two types are recorded by
    their full names, and the set loads, verifies and scores all of them."""
    folder = tmp_path / "Mixed"
    folder.mkdir()
    for name in ("baby", "bird", "butterfly"):
        shutil.copy(DATA / "Set5" / "HR" / f"{name}.png", folder)
    from PIL import Image

    with Image.open(DATA / "Set5" / "HR" / "head.png") as im:
        im.save(folder / "head.bmp")
    (folder / "notes.txt").write_text("shot in 2024")
    assert main(["card", "new", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "left out notes.txt: not an image" in out
    card = get_card("Mixed")
    assert card.layouts[0].hr == "{name}" and card.images == 4
    assert set(card.sha256) == {"baby.png", "bird.png", "butterfly.png", "head.bmp"}
    assert set(card.exclude) == {"notes.txt"} and "(.bmp, .png)" in card.description
    data = open_dataset("Mixed", 2, data_root=tmp_path)
    assert data.names == ["baby.png", "bird.png", "butterfly.png", "head.bmp"]
    assert data.excluded == ["notes.txt"]
    for name in data.names:
        data.verify(name)
    assert data.unverified == 0
    assert main(["eval", "--model", "bicubic", "--scale", "2", "--dataset", "Mixed",
                 "--data-root", str(tmp_path), "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["means"][0]["images"] == 4


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--name", "Set5"], "name of a shipped card"),
        (["-o", "{tmp}/Other.yaml", "--name", "Mine"], "disagree"),
        (["-o", "{tmp}/mine.yml"], ".yaml file"),
        (["-o", "{repo}/datasets/Mine.yaml"], "among the shipped cards"),
        (["-o", "{repo}/repro/Mine.yaml"], "among the shipped cards"),
        (["-o", "{tmp}/no/such/Mine.yaml"], "does not exist"),
    ],
    ids=["shipped-name", "name-vs-file", "suffix", "datasets", "package", "no-folder"],
)
def test_card_new_refuses_in_one_line(tmp_path, capsys, args, needle):
    folder = tmp_path / "Mine"
    shutil.copytree(DATA / "Set5" / "HR", folder)
    args = [a.format(tmp=tmp_path, repo=REPO_ROOT) for a in args]
    assert main(["card", "new", str(folder), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert _shipped_card_files() == SHIPPED_CARDS
    assert not list(tmp_path.rglob("*.yaml")) and not (REPO_ROOT / "repro" / "Mine.yaml").exists()
