"""``repro get <table>``: the plan of what a table needs, and ``--yes`` getting it all.

Every download comes from a loopback server (tests/loopback.py): the table is a spec file of
this test with one IMDN row on Test2K; Test2K's card points at the server (``card_dir``), and
IMDN's x4 checkpoint entry is replaced by one served there. The checkpoint is a real IMDN state
dict (random values, the official ``module.`` keys); the sha256 values are computed here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile

import huggingface_hub.constants as hfc
import pytest
import torch
from cli_run import run_cli
from fetch_sets import left_behind, make_card, set_files, zip_of
from loopback import Server, guard_loopback

from repro.download import transfer
from repro.models import registry
from repro.models.imdn.arch import IMDN
from repro.tables.needs import TOFU, plan
from repro.tables.spec import load_spec
from repro.weights import converted_path
from repro.weights.lock import read_lock

SPEC = """\
id: get_test
title: "one IMDN row on Test2K (a test spec)"
source: {note: "a test spec"}
protocol: {version: 1, include: _protocols/camixer_large_sr.yaml}
tolerance: {psnr: 0.02}
columns:
  - {dataset: Test2K, metric: psnr}
rows:
  - {id: imdn, label: IMDN, model: imdn, scale: 4, reported: [26.19]}
"""


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Loopback servers only; downloads allowed (conftest sets HF_HUB_OFFLINE)."""
    guard_loopback(monkeypatch)
    monkeypatch.setattr(transfer, "RETRIES", 0)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", False)


@pytest.fixture
def server():
    with Server() as srv:
        yield srv


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "get_test.yaml"
    path.write_text(SPEC)
    return path


def _checkpoint() -> bytes:
    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save(IMDN(4).state_dict(), buf)
    return buf.getvalue()


def _serve_weights(monkeypatch, server, body: bytes, sha256: str | None, *, member: str = ""):
    """IMDN's x4 entry, downloaded from the server (its catalogue and default alike)."""
    info = registry.get("imdn")
    path = "/IMDN_x4.zip" if member else "/IMDN_x4.pth"
    server.files[path] = body
    entry = dataclasses.replace(
        info.weights[4],
        urls=(server.base + path,),
        sha256=sha256,
        size=len(body),
        member=member,
        filename=path.lstrip("/"),
    )
    monkeypatch.setitem(info.catalogue, entry.id, entry)
    monkeypatch.setitem(info.weights, 4, entry)
    return entry


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_plan_names_each_missing_item_its_source_size_and_check(
    server, card_dir, spec_file, monkeypatch
):
    body = _checkpoint()
    entry = _serve_weights(monkeypatch, server, body, _sha(body))
    make_card(card_dir, server.base + "/Test2K.zip")
    items = {i.name: i for i in plan(load_spec(spec_file))}
    assert set(items) == {"imdn-x4", "Test2K x4"}
    weights, data = items["imdn-x4"], items["Test2K x4"]
    assert (weights.here, weights.source, weights.size) == (False, entry.urls[0], len(body))
    assert weights.check.startswith(f"sha256 {_sha(body)[:12]}… published")
    assert (data.here, data.source, data.check) == (False, server.base + "/Test2K.zip", TOFU)
    run = run_cli("get", str(spec_file))
    assert run.rc == 0, run
    out = run.stdout
    assert "get_test: 2 needed, 0 here, 2 to get" in out
    assert f"from: {entry.urls[0]}" in out and f"{len(body) / 1e6:.1f} MB" in out
    assert "checked by: trusted on first use" in out  # the dataset: no sha256 published
    assert "nothing fetched: repro get get_test --yes gets the 2 above" in out
    assert server.log == []  # a plan downloads nothing
    assert run_cli("get", str(spec_file), "--dry-run").stdout == out


def test_yes_fetches_verifies_and_locks_everything_then_nothing_is_left_to_get(
    server, card_dir, spec_file, monkeypatch
):
    body = _checkpoint()
    entry = _serve_weights(monkeypatch, server, body, None)  # trusted on first use
    files = set_files()
    server.files["/Test2K.zip"] = zip_of(files)
    make_card(card_dir, server.base + "/Test2K.zip")
    run = run_cli("get", str(spec_file), "--yes")
    assert run.rc == 0, run
    assert "got imdn-x4: " in run.stdout and "got Test2K x4: 6 files" in run.stdout
    # the checkpoint: converted, and its source sha256 recorded in the weights lock
    assert converted_path(entry).is_file()
    assert read_lock()[entry.id]["sha256"] == _sha(body)
    # the set: laid out where runs find it, its lock written by repro fetch
    items = plan(load_spec(spec_file))
    assert all(i.here for i in items), items
    again = run_cli("get", str(spec_file), "--yes")
    assert again.rc == 0 and "everything is here" in again.stdout
    assert len(server.gets("/IMDN_x4.pth")) == 1 and len(server.gets("/Test2K.zip")) == 1


def test_a_wrong_sha256_is_refused_and_nothing_of_it_is_kept(
    server, card_dir, spec_file, monkeypatch
):
    body = _checkpoint()
    entry = _serve_weights(monkeypatch, server, body, "0" * 64)
    server.files["/Test2K.zip"] = zip_of(set_files())
    make_card(card_dir, server.base + "/Test2K.zip")
    run = run_cli("get", str(spec_file), "--yes")
    assert run.rc != 0
    error = run.stderr.strip()
    assert error.startswith("error: 1 item(s) could not be got; got 1 other(s): imdn-x4: ")
    assert f"has sha256 {_sha(body)}" in error and "0" * 64 in error
    assert "\n" not in error
    assert not converted_path(entry).is_file() and entry.id not in read_lock()
    assert not [p for p in left_behind() if p.startswith("downloads")]
    # the dataset was fetched all the same: each item is whole on its own
    assert [i.here for i in plan(load_spec(spec_file)) if i.kind == "data"] == [True]


def test_a_checkpoint_inside_a_zip_is_unpacked_from_its_one_matching_member(
    server, card_dir, spec_file, monkeypatch
):
    body = _checkpoint()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("models/README.txt", "the models")
        z.writestr("__MACOSX/models/._IMDN_x4.pth", b"resource fork")
        z.writestr("models/IMDN_x4.pth", body)
    archive = buf.getvalue()
    entry = _serve_weights(monkeypatch, server, archive, _sha(archive), member="*IMDN_x4.pth")
    make_card(card_dir, server.base + "/Test2K.zip")
    server.files["/Test2K.zip"] = zip_of(set_files())
    run = run_cli("get", str(spec_file), "--yes")
    assert run.rc == 0, run
    loaded = registry.build("imdn", None, 4)
    from safetensors.torch import load_file

    state = load_file(str(converted_path(entry)))
    assert set(state) == set(loaded.state_dict())
    assert torch.equal(
        state["module.fea_conv.weight"], torch.load(io.BytesIO(body))["module.fea_conv.weight"]
    )


def test_an_archive_without_exactly_one_matching_member_is_one_line(
    server, card_dir, spec_file, monkeypatch
):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a/IMDN_x4.pth", b"1")
        z.writestr("b/IMDN_x4.pth", b"2")
    archive = buf.getvalue()
    entry = _serve_weights(monkeypatch, server, archive, _sha(archive), member="*IMDN_x4.pth")
    make_card(card_dir, server.base + "/Test2K.zip")
    server.files["/Test2K.zip"] = zip_of(set_files())
    run = run_cli("get", str(spec_file), "--yes")
    assert run.rc != 0
    assert "2 members (a/IMDN_x4.pth, b/IMDN_x4.pth) of the archive match '*IMDN_x4.pth'" in (
        run.stderr
    )
    assert not converted_path(entry).is_file()


def test_yes_and_dry_run_together_are_refused(spec_file):
    run = run_cli("get", str(spec_file), "--yes", "--dry-run")
    assert run.rc == 2 and "give one of them" in run.stderr
