"""Content of the dataset cards in datasets/: schema, pinned revisions, and the shipped files.

Every file that ships in ../shared/data (MANIFEST.json) must be recorded, with its sha256, by
exactly one card, under the card's local folder that exists there; the recorded hash must be the
file's real hash, and the file must fit one of the card's layouts. No network.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from repro.paths import REPO_ROOT, shared_root

CARDS_DIR = REPO_ROOT / "datasets"
DATA = shared_root() / "data"
TASKS = {"classic", "stereo", "360", "large", "real"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
EXPECTED = {
    "Set5", "Set14", "B100", "Urban100", "Manga109", "Flickr1024", "KITTI2012", "KITTI2015",
    "Middlebury", "ODI-SR", "SUN360", "F2K", "Test2K", "Test4K", "Test8K", "RealSR", "DRealSR",
    "RealSRSet", "RealLQ250",
}

CARD_PATHS = sorted(CARDS_DIR.glob("*.yaml"))


@cache
def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def shipped_dirs(card: dict) -> list[str]:
    """The card's local folders that exist in ../shared/data."""
    return [d for d in card.get("local_dirs") or [] if (DATA / d).is_dir()]


def manifest() -> list[dict]:
    return json.loads((DATA / "MANIFEST.json").read_text(encoding="utf-8"))


def template_regex(template: str, views: list[str]) -> re.Pattern:
    pattern = re.escape(template)
    pattern = pattern.replace(r"\{name\}", r"[^/]+").replace(r"\{scale\}", r"\d+")
    view_alt = "|".join(re.escape(v) for v in views) if views else r"[^/]*"
    pattern = pattern.replace(r"\{view\}", f"(?:{view_alt})")
    return re.compile("^" + pattern + "$")


def ids(paths):
    return [p.stem for p in paths]


def test_one_card_per_benchmark_set():
    assert {p.stem for p in CARD_PATHS} >= EXPECTED
    assert not (CARDS_DIR / "__init__.py").exists(), "would shadow Hugging Face's datasets"


@pytest.mark.parametrize("path", CARD_PATHS, ids=ids(CARD_PATHS))
def test_card_schema(path):
    card = load(path)
    assert isinstance(card, dict)
    assert card["name"] == path.stem
    assert card["task"] in TASKS
    assert isinstance(card.get("description"), str) and card["description"].strip()
    scales = card["scales"]
    assert scales and all(isinstance(s, int) and s >= 1 for s in scales)
    if card.get("images") is not None:
        assert isinstance(card["images"], int) and card["images"] > 0
    protocol = card["protocol"]
    assert protocol["channel"] in {"y", "rgb"}
    assert protocol["crop"] == "scale" or (isinstance(protocol["crop"], int)
                                           and protocol["crop"] >= 0)
    assert protocol.get("lr_boundary", "symmetric") in {"symmetric", "replicate"}
    assert protocol.get("lr_maker", "matlab-bicubic") in {"matlab-bicubic", "odi-fisheye"}
    # 360° sets (and only they) make LR with OSRT's fisheye pipeline
    assert (protocol.get("lr_maker") == "odi-fisheye") == (card["task"] == "360")
    scoring = {k: v for k, v in protocol.items() if k not in ("lr_boundary", "lr_maker")}
    if card["task"] == "classic":
        assert scoring == {"channel": "y", "crop": "scale"}
    if card["task"] in {"stereo", "360", "large"}:
        assert scoring == {"channel": "rgb", "crop": 0}
    assert card["local_dirs"] and card["local_dirs"][0] == card["name"]
    assert card["layouts"]
    for layout in card["layouts"]:
        assert layout.get("name")
        assert layout.get("hr") or layout.get("lr")
        for key in ("hr", "lr"):
            if layout.get(key):
                assert "{name}" in layout[key]
                assert ("{view}" in layout[key]) == bool(layout.get("views"))
        if card["task"] == "stereo":
            assert len(layout.get("views") or []) == 2
    for name, sub in (card.get("subsets") or {}).items():
        assert name in card["local_dirs"], f"subset {name} is not one of the local_dirs"
        assert isinstance(sub.get("images"), int) and sub.get("note")


@pytest.mark.parametrize("path", CARD_PATHS, ids=ids(CARD_PATHS))
def test_source_is_pinned_or_says_why(path):
    source = load(path)["source"]
    assert source.get("note", "").strip()
    hub = source.get("hub")
    if hub is not None:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", hub["repo"])
        assert hub.get("repo_type", "dataset") in {"dataset", "model", "space"}
        revision = hub.get("revision")
        assert revision is None or re.fullmatch(r"[0-9a-f]{7,40}", str(revision)), revision
        if revision is None:
            assert "revision not pinned" in source["note"]
        elif len(str(revision)) < 40:  # an abbreviated pin must say why it is not the full hash
            assert "abbreviated" in source["note"]
    archive = source.get("archive")
    if archive is not None:
        assert archive.get("url", "").startswith(("http://", "https://"))
        assert archive.get("sha256") is None or HEX64.match(archive["sha256"])


@pytest.mark.parametrize("path", CARD_PATHS, ids=ids(CARD_PATHS))
def test_recorded_hashes_match_the_shipped_files(path):
    card = load(path)
    recorded = card.get("sha256") or {}
    if not recorded:
        return
    dirs = shipped_dirs(card)
    assert len(dirs) == 1, f"{card['name']}: hashes but shipped folders {dirs}"
    root = DATA / dirs[0]
    for rel, digest in recorded.items():
        assert HEX64.match(str(digest)), (rel, digest)
        file = root / rel
        assert file.is_file(), f"{file} recorded in {path.name} does not exist"
        assert sha256_of(file) == digest, f"{file}: sha256 differs from {path.name}"


@pytest.mark.parametrize("path", CARD_PATHS, ids=ids(CARD_PATHS))
def test_shipped_files_fit_a_layout_of_their_card(path):
    card = load(path)
    regexes = [template_regex(layout[key], layout.get("views") or [])
               for layout in card["layouts"] for key in ("hr", "lr") if layout.get(key)]
    for rel in card.get("sha256") or {}:
        assert any(r.match(rel) for r in regexes), f"{card['name']}: {rel} fits no layout"


def test_every_shipped_file_is_covered_by_exactly_one_card():
    owners: dict[str, list[str]] = {}
    for path in CARD_PATHS:
        card = load(path)
        for d in shipped_dirs(card):
            for rel in card.get("sha256") or {}:
                owners.setdefault(f"{d}/{rel}", []).append(card["name"])
    entries = manifest()
    assert entries
    for entry in entries:
        cards = owners.get(entry["file"], [])
        assert len(cards) == 1, f"{entry['file']} is recorded by {cards or 'no card'}"
        card = load(CARDS_DIR / f"{cards[0]}.yaml")
        rel = entry["file"].split("/", 1)[1]
        assert card["sha256"][rel] == entry["sha256"], entry["file"]
    # and no card records a file the manifest does not know
    assert set(owners) == {e["file"] for e in entries}


def test_every_shipped_folder_belongs_to_a_card():
    shipped = {p.name for p in DATA.iterdir() if p.is_dir()}
    claimed = {d for path in CARD_PATHS for d in shipped_dirs(load(path))}
    assert shipped <= claimed, shipped - claimed


def test_cards_parse_with_the_project_loader():
    from repro.data.cards import _parse

    for path in CARD_PATHS:
        card = _parse(path)
        assert card.name == path.stem and card.layouts
