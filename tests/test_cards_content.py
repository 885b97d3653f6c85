"""Dataset cards in datasets/: the registry, what the shipped files show, and bad cards refused.

The card schema (keys, types, ranges, task facts) lives in repro.data.cards and repro.data.schema
and is checked whenever a card loads, so ``repro validate`` and these tests run the same checks;
here the tests iterate that registry. Every file that ships in ../shared/data (MANIFEST.json) must
be recorded, with its sha256, by exactly one card, under the card's local folder that exists
there; the recorded hash must be the file's real hash, and the file must fit one of the card's
layouts. Bad cards fail with one line naming the file and the key. No network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from repro.data.cards import KEYS, all_cards, get_card, validate_all
from repro.data.schema import LR_MAKERS, TASKS, Card
from repro.errors import SpecError
from repro.paths import REPO_ROOT, shared_root

CARDS_DIR = REPO_ROOT / "datasets"
DATA = shared_root() / "data"
EXPECTED = {
    "Set5", "Set14", "B100", "Urban100", "Manga109", "Flickr1024", "KITTI2012", "KITTI2015",
    "Middlebury", "ODI-SR", "SUN360", "F2K", "Test2K", "Test4K", "Test8K", "RealSR", "DRealSR",
    "RealSRSet", "RealLQ250",
}  # fmt: skip

CARDS = all_cards()  # raises, naming the card, if one does not load
NAMES = sorted(CARDS)


@cache
def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def shipped_dirs(card: Card) -> list[str]:
    """The card's local folders that exist in ../shared/data."""
    return [d for d in card.local_dirs if (DATA / d).is_dir()]


def manifest() -> list[dict]:
    return json.loads((DATA / "MANIFEST.json").read_text(encoding="utf-8"))


def template_regex(template: str, views: tuple[str, ...]) -> re.Pattern:
    pattern = re.escape(template)
    pattern = pattern.replace(r"\{name\}", r"[^/]+").replace(r"\{scale\}", r"\d+")
    view_alt = "|".join(re.escape(v) for v in views) if views else r"[^/]*"
    pattern = pattern.replace(r"\{view\}", f"(?:{view_alt})")
    return re.compile("^" + pattern + "$")


def test_one_card_per_benchmark_set():
    assert set(CARDS) >= EXPECTED
    assert set(CARDS) == {p.stem for p in CARDS_DIR.glob("*.yaml")}
    assert not (CARDS_DIR / "__init__.py").exists(), "would shadow Hugging Face's datasets"


def test_validate_all_finds_no_problem_in_the_shipped_cards():
    assert validate_all() == []


@pytest.mark.parametrize("name", NAMES)
def test_card_schema(name):
    """The parsed card holds what the loader relies on; the task facts are the papers'."""
    card = CARDS[name]
    assert card.name == card.path.stem == name
    assert card.task in TASKS
    assert card.description.strip()
    assert card.scales and all(isinstance(s, int) and s >= 1 for s in card.scales)
    assert card.images is None or card.images > 0
    protocol = card.protocol
    # 360° sets (and only they) make LR with OSRT's fisheye pipeline
    assert ((protocol.lr_maker or LR_MAKERS[0]) == "odi-fisheye") == (card.task == "360")
    scoring = {"channel": protocol.channel, "crop": protocol.crop}
    if card.task == "classic":
        assert scoring == {"channel": "y", "crop": "scale"}
    if card.task in {"stereo", "360", "large"}:
        assert scoring == {"channel": "rgb", "crop": 0}
    assert card.local_dirs and card.local_dirs[0] == card.name
    assert card.layouts
    for layout in card.layouts:
        assert layout.name and (layout.hr or layout.lr)
        for template in (layout.hr, layout.lr):
            if template:
                assert "{name}" in template
                assert ("{view}" in template) == bool(layout.views)
        assert len(layout.views) == (2 if card.task == "stereo" else 0)
    for sub_name, sub in card.subsets.items():
        assert sub_name in card.local_dirs, f"subset {sub_name} is not one of the local_dirs"
        assert sub.images > 0 and sub.note


@pytest.mark.parametrize("name", NAMES)
def test_source_is_pinned_or_says_why(name):
    card = CARDS[name]
    assert card.source_note.strip()
    if card.hub is not None:
        if card.hub.revision is None:
            assert "revision not pinned" in card.source_note
        elif len(card.hub.revision) < 40:  # an abbreviated pin must say why it is not the full hash
            assert "abbreviated" in card.source_note


@pytest.mark.parametrize("name", NAMES)
def test_recorded_hashes_match_the_shipped_files(name):
    card = CARDS[name]
    if not card.sha256:
        return
    dirs = shipped_dirs(card)
    assert len(dirs) == 1, f"{card.name}: hashes but shipped folders {dirs}"
    root = DATA / dirs[0]
    for rel, digest in card.sha256.items():
        file = root / rel
        assert file.is_file(), f"{file} recorded in {card.path.name} does not exist"
        assert sha256_of(file) == digest, f"{file}: sha256 differs from {card.path.name}"


@pytest.mark.parametrize("name", NAMES)
def test_shipped_files_fit_a_layout_of_their_card(name):
    card = CARDS[name]
    regexes = [
        template_regex(template, layout.views)
        for layout in card.layouts
        for template in (layout.hr, layout.lr)
        if template
    ]
    for rel in card.sha256:
        assert any(r.match(rel) for r in regexes), f"{card.name}: {rel} fits no layout"


def test_every_shipped_file_is_covered_by_exactly_one_card():
    owners: dict[str, list[str]] = {}
    for card in CARDS.values():
        for d in shipped_dirs(card):
            for rel in card.sha256:
                owners.setdefault(f"{d}/{rel}", []).append(card.name)
    entries = manifest()
    assert entries
    for entry in entries:
        cards = owners.get(entry["file"], [])
        assert len(cards) == 1, f"{entry['file']} is recorded by {cards or 'no card'}"
        rel = entry["file"].split("/", 1)[1]
        assert CARDS[cards[0]].sha256[rel] == entry["sha256"], entry["file"]
    # and no card records a file the manifest does not know
    assert set(owners) == {e["file"] for e in entries}


def test_every_shipped_folder_belongs_to_a_card():
    shipped = {p.name for p in DATA.iterdir() if p.is_dir()}
    claimed = {d for card in CARDS.values() for d in shipped_dirs(card)}
    assert shipped <= claimed, shipped - claimed


def test_the_readme_documents_exactly_the_keys_the_code_reads():
    text = (CARDS_DIR / "README.md").read_text(encoding="utf-8")
    example = yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])
    layouts, subsets = example["layouts"], list(example["subsets"].values())
    documented = {
        "": example,
        "protocol": example["protocol"],
        "layouts[]": {k: 1 for layout in layouts for k in layout},
        "layouts[].parquet": {k: 1 for layout in layouts for k in layout.get("parquet", {})},
        "source": example["source"],
        "source.hub": example["source"]["hub"],
        "source.archive": example["source"]["archive"],
        "source.build": example["source"]["build"],
        "subsets.*": {k: 1 for sub in subsets for k in sub},
    }
    assert set(documented) == set(KEYS)
    for block, (known, required) in KEYS.items():
        assert set(documented[block]) == set(known), block
        assert set(required) <= set(known), block


# -- bad cards ------------------------------------------------------------------------------------
def _write_card(folder: Path, name: str, edit) -> Path:
    """A copy of the real card ``name`` in ``folder``, changed by ``edit(raw)``."""
    raw = yaml.safe_load((CARDS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    edit(raw)
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _set(*keys, value):
    """An edit setting raw[k1][k2]... = value (an int key indexes a list)."""

    def edit(raw):
        for key in keys[:-1]:
            raw = raw[key]
        raw[keys[-1]] = value

    return edit


def _drop(key):
    return lambda raw: raw.pop(key)


BAD = [
    # (card, edit, the key the error names, what it says)
    ("Set5", _set("lisence", value="CC"), "lisence", "unknown key 'lisence' (known: name, task"),
    ("Set5", _set("images", value="five"), "images", "must be a whole number > 0"),
    ("Set5", _set("images", value=0), "images", "must be a whole number > 0"),
    ("Set5", _set("images", value=-5), "images", "got -5"),
    ("Set5", _set("images", value=True), "images", "got True"),
    ("Set5", _set("scales", value=[2, "three"]), "scales[1]", "got 'three'"),
    ("Set5", _set("scales", value=[]), "scales", "a non-empty list"),
    ("Set5", _set("scales", value=4), "scales", "a non-empty list"),
    ("Set5", _set("protocol", value=["y", "scale"]), "protocol", "must be a mapping"),
    ("Set5", _set("exclude", value=["baby"]), "exclude", "must be a mapping"),
    ("Set5", _set("exclude", value={14: "octal in YAML"}), "exclude", "quoted image names"),
    ("Set5", _set("sha256", value="abc"), "sha256", "must be a mapping"),
    ("Set5", _set("sha256", "HR/baby.png", value="abc"), "sha256.HR/baby.png", "64 hex"),
    ("Set5", _set("protocol", "crop", value="two"), "protocol.crop", "'scale' or a whole"),
    ("Set5", _set("protocol", "channel", value="ycbcr"), "protocol.channel", "one of y, rgb"),
    ("Set5", _set("protocol", "gray", value="rgb3"), "protocol.gray", "unknown key"),
    ("Set5", _set("protocol", "channel", value="rgb"), "protocol", "every classic set"),
    ("Set5", _set("protocol", "lr_maker", value="odi-fisheye"), "protocol.lr_maker", "classic"),
    ("Set5", _set("layouts", 0, "hr_dir", value="HR"), "layouts[0].hr_dir", "unknown key"),
    ("Set5", _set("layouts", 1, "views", value=["0", "1"]), "layouts[1].views", "0 views"),
    ("Set5", _set("layouts", 0, "lr", value=5), "layouts[0].lr", "got 5"),
    ("Set5", _set("layouts", value={"hr": "HR/{name}.png"}), "layouts", "a non-empty list"),
    ("Set5", _set("source", "hub", "revison", value="abc1234"), "source.hub.revison", "unknown"),
    ("Set5", _set("source", "hub", "revision", value="main"), "source.hub.revision", "commit"),
    ("Set5", _set("source", "hub", "revision", value=None), "source.note", "not pinned"),
    ("Set5", _set("source", "hub", "repo_type", value="repo"), "source.hub.repo_type", "one of"),
    ("Set5", _set("source", "hub", value=["eugenesiow/Set5"]), "source.hub", "a mapping"),
    ("Set5", _set("source", "archive", "url", value="ftp://x"), "source.archive.url", "http"),
    ("Set5", _set("local_dirs", value=["Set5_copy", "Set5"]), "local_dirs", "starts with"),
    ("Set5", _drop("description"), "description", "is missing"),
    ("Set5", _set("name", value="Set6"), "name", "the file name 'Set5'"),
    ("Urban100", _set("subsets", "Urban100_subset20", "images", value="20"), "images", "got '20'"),
    ("Urban100", _set("subsets", "U20", value={"images": 2, "note": "x"}), "subsets", "local_dirs"),
    ("Flickr1024", _set("layouts", 0, "views", value=["0"]), "layouts[0].views", "2 views"),
    ("Flickr1024", _set("layouts", 3, "parquet", "hr", value="left"), "parquet.hr", "each view"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "edit", "key", "says"), BAD, ids=[f"{b[0]}-{b[2]}" for b in BAD])
def test_a_bad_card_is_one_line_naming_file_and_key(tmp_path, monkeypatch, name, edit, key, says):
    _write_card(tmp_path / "cards", name, edit)
    monkeypatch.setenv("REPRO_CARDS", str(tmp_path / "cards"))
    monkeypatch.setenv("REPRO_OVERRIDE_SHIPPED", "1")  # the bad copy replaces the shipped card
    with pytest.raises(SpecError) as exc:
        get_card(name)
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"dataset card {tmp_path / 'cards' / name}.yaml: "), message
    assert f"'{key}" in message or f".{key}'" in message, message
    assert says in message, message
    assert validate_all() == [message]


def test_validate_all_reports_every_bad_card_and_all_cards_the_first(tmp_path, monkeypatch):
    folder = tmp_path / "cards"
    _write_card(folder, "Set14", _set("images", value="fourteen"))
    _write_card(folder, "Set5", _set("task", value="classical"))
    _write_card(folder, "B100", lambda raw: None)
    monkeypatch.setenv("REPRO_CARDS", str(folder))
    monkeypatch.setenv("REPRO_OVERRIDE_SHIPPED", "1")
    problems = validate_all()
    assert [p.split(":")[0] for p in problems] == [
        f"dataset card {folder / 'Set14.yaml'}",
        f"dataset card {folder / 'Set5.yaml'}",
    ]
    assert "key 'task' must be one of classic, stereo, 360, large, real" in problems[1]
    with pytest.raises(SpecError, match="Set14.yaml: key 'images'"):
        all_cards()


def test_errors_name_a_card_of_the_repository_by_its_relative_path(tmp_path, monkeypatch):
    """Errors about cards inside the repository say datasets/<Name>.yaml, not this machine's."""
    import repro.data.cards as cards

    bad = _write_card(tmp_path / "datasets", "Set5", _set("images", value="five"))
    monkeypatch.setattr(cards, "REPO_ROOT", tmp_path)
    with pytest.raises(SpecError) as exc:
        cards.load_card(bad)
    assert str(exc.value) == (
        "dataset card datasets/Set5.yaml: key 'images' must be a whole number > 0 (images in the "
        "full set), got 'five'"
    )


def _run_cli(*args: str, cards: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "REPRO_CARDS": str(cards), "REPRO_OVERRIDE_SHIPPED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "repro", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("args", [["ls", "datasets"], ["verify", "Set5"], ["verify", "Set14"]])
def test_cli_refuses_a_bad_card_in_one_line(tmp_path, args):
    folder = tmp_path / "cards"
    for name in ("Set5", "Set14"):
        _write_card(folder, name, lambda raw: None)
    _write_card(folder, "Set5", _set("protocol", "crop", value=[4]))
    out = _run_cli(*args, cards=folder)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Set5.yaml: key 'protocol.crop' must be 'scale' or a whole number >= 0" in lines[0]
