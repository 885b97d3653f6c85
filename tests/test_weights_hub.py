"""Weights from the Hugging Face Hub: ``repro pull`` of checkpoints and metric files, and
``hf://owner/repo@commit/path`` weights paths, all offline against a fake HF cache.

The fake cache has the layout huggingface_hub itself writes and reads
(``models--owner--repo/{blobs/<sha256>, snapshots/<commit>/<path> -> blob, refs/main}``):
with a pinned commit and ``HF_HUB_OFFLINE=1``, ``hf_hub_download`` returns the snapshot file
without any request. The one HTTP test serves from 127.0.0.1; any other address is refused.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from repro.cli import main
from repro.errors import (
    MissingWeightsError,
    NotRun,
    NotRunCode,
    UnknownNameError,
    WeightsChecksumError,
    WeightsError,
)
from repro.eval.predictor import load_model
from repro.eval.pulls import pull_entries
from repro.metrics import get_metric
from repro.models import build, get
from repro.weights import WeightsEntry, check_found, converted_path, locate, require
from repro.weights.fetch import pull
from repro.weights.hub import hub_file, parse_hf_url
from repro.weights.lock import read_lock
from repro.weights.resolver import pulled_path
from tests.conftest import SHARED
from tests.test_cli import run

REV = "0123456789abcdef0123456789abcdef01234567"
REPO = "someone/sr-mirror"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        if address[0] not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"test tried to contact {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Empty repro cache, weights folder, torch hub and HF cache; offline; no user variables."""
    for var in list(os.environ):
        if var.startswith(("HF_", "REPRO_", "TORCH_")) or var.lower().endswith("_proxy"):
            monkeypatch.delenv(var)
    folders = {
        "REPRO_CACHE": tmp_path / "cache",
        "REPRO_WEIGHTS": tmp_path / "weights",
        "REPRO_SHARED": tmp_path / "no-shared",
        "REPRO_OUT": tmp_path / "workspace",
        "TORCH_HOME": tmp_path / "torch",
        "HF_HOME": tmp_path / "hf-home",
        "HF_HUB_CACHE": tmp_path / "hf",
    }
    for var, path in folders.items():
        monkeypatch.setenv(var, str(path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "weights").mkdir()
    return folders


def put(env, repo: str, path: str, data: bytes, revision: str = REV) -> Path:
    """Write ``path`` of ``repo`` at ``revision`` into the fake HF cache, as the Hub client does."""
    storage = env["HF_HUB_CACHE"] / f"models--{repo.replace('/', '--')}"
    blob = storage / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    link = storage / "snapshots" / revision / path
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    (storage / "refs").mkdir(exist_ok=True)
    (storage / "refs" / "main").write_text(revision)
    return link


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return build("esc", "light", scale=2).state_dict()


@pytest.fixture(scope="module")
def ckpt(state) -> bytes:
    buf = io.BytesIO()
    torch.save({"params_ema": state}, buf)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model_entry(**kw) -> WeightsEntry:
    return WeightsEntry(
        id="tiny-hub-x2",
        filename="x2/ESC_light_X2.pth",
        hub_repo=REPO,
        hub_revision=REV,
        source="a test mirror",
        **kw,
    )


def metric_entry(filename: str, **kw) -> WeightsEntry:
    return WeightsEntry.metric_file(
        "fake-net", filename, "a test network", subdir="pyiqa", cache="torch", **kw
    )


# ----------------------------------------------------------------------------- hf:// addresses


def test_an_hf_address_parses_into_repo_commit_and_path():
    assert parse_hf_url(f"hf://{REPO}@{REV}/x4/net.safetensors") == (
        REPO,
        REV,
        "x4/net.safetensors",
    )


@pytest.mark.parametrize(
    "url, needle",
    [
        (f"hf://{REPO}/x4/net.pth", "names no revision"),
        (f"hf://{REPO}@{REV[:8]}/x4/net.pth", "is not a 40-hex commit"),
        (f"hf://{REPO}@main/x4/net.pth", "revision 'main' is not a 40-hex commit"),
        (f"hf://{REPO}@{REV.upper()}/net.pth", "is not a 40-hex commit"),
        (f"hf://{REPO}@{REV}", "is not a file path"),
        (f"hf://{REPO}@{REV}/../net.pth", "is not a file path"),
        (f"hf://datasets/{REPO}@{REV}/net.pth", "only model repositories"),
        (f"hf://just-a-name@{REV}/net.pth", "is not a repository id"),
    ],
)
def test_a_bad_hf_address_says_to_pin_a_commit(url, needle):
    with pytest.raises(WeightsError) as info:
        parse_hf_url(url)
    msg = str(info.value)
    assert needle in msg and "\n" not in msg
    assert "hf://owner/repo@<40-hex commit>/path/in/repo" in msg


def test_a_file_missing_offline_is_a_clear_error(env):
    put(env, REPO, "other.pth", b"another file")  # the repository is cached, this file is not
    with pytest.raises(MissingWeightsError) as info:
        hub_file(REPO, REV, "x2/net.pth")
    msg = str(info.value)
    assert f"hf://{REPO}@{REV}/x2/net.pth is not in the Hugging Face cache" in msg
    assert "HF_HUB_OFFLINE is set" in msg and "\n" not in msg
    assert hub_file(REPO, REV, "other.pth").read_bytes() == b"another file"


def test_an_hf_weights_path_loads_into_the_model(env, state, ckpt):
    put(env, REPO, "x2/ESC_light_X2.pth", ckpt)
    url = f"hf://{REPO}@{REV}/x2/ESC_light_X2.pth"
    module, prov = load_model("esc-light", 2, weights_path=url)
    loaded = module.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    weights = prov["weights"]
    assert weights["url"] == url and weights["origin"] == "user"
    assert weights["sha256"] == sha(ckpt) and weights["verified"] == "none"  # not the official file
    assert Path(weights["path"]).is_relative_to(env["HF_HUB_CACHE"])
    # a plain local path of the same bytes: same verification, no url in the provenance
    local = env["REPRO_WEIGHTS"] / "mine.pth"
    local.write_bytes(ckpt)
    _, plain = load_model("esc-light", 2, weights_path=str(local))
    assert "url" not in plain["weights"]
    assert {k: v for k, v in weights.items() if k not in ("url", "path")} == {
        k: v for k, v in plain["weights"].items() if k != "path"
    }


@pytest.mark.parametrize(
    "url, error, needle",
    [
        (f"hf://{REPO}/x2/ESC_light_X2.pth", WeightsError, "pin a commit"),
        (f"hf://{REPO}@{REV[:12]}/x2/ESC_light_X2.pth", WeightsError, "40-hex commit"),
        (f"hf://{REPO}@{REV}/x2/missing.pth", MissingWeightsError, "not in the Hugging Face"),
    ],
)
def test_a_bad_hf_weights_path_fails_before_any_load(env, ckpt, url, error, needle):
    put(env, REPO, "x2/ESC_light_X2.pth", ckpt)
    with pytest.raises(error, match=needle):
        load_model("esc-light", 2, weights_path=url)
    with pytest.raises(error, match=needle):
        locate(None, url)


# ----------------------------------------------------------------------------- pull: checkpoints


def test_pull_converts_a_hub_checkpoint_verified_and_locked(env, state, ckpt):
    cached = put(env, REPO, "x2/ESC_light_X2.pth", ckpt)
    entry = model_entry(sha256=sha(ckpt), sha256_source="a test page")
    target = pull(entry)
    assert target == converted_path(entry)
    converted = load_file(str(target))
    assert converted.keys() == state.keys()
    assert all(torch.equal(converted[k], state[k]) for k in state)
    record = read_lock()["tiny-hub-x2"]
    assert record["source"] == f"hf://{REPO}@{REV}/x2/ESC_light_X2.pth"
    assert record["sha256"] == sha(ckpt) and record["basis"] == "registry"
    found = locate(entry)
    assert (found.path, found.verified, found.origin) == (target, "registry", "converted")
    assert record["converted_sha256"] == found.sha256
    assert cached.read_bytes() == ckpt  # the HF cache keeps its own file


def test_pull_of_an_unpublished_hub_checkpoint_needs_trust(env, ckpt):
    put(env, REPO, "x2/ESC_light_X2.pth", ckpt)
    entry = model_entry()
    with pytest.raises(WeightsError, match="not published") as info:
        pull(entry)
    assert "repro pull tiny-hub-x2 --trust-unverified" in str(info.value)
    assert files(env["REPRO_CACHE"]) == []
    pull(entry, trust=True)
    record = read_lock()["tiny-hub-x2"]
    assert record["basis"] == "trusted" and record["sha256"] == sha(ckpt)
    assert locate(entry).verified == "lock"


def test_pull_of_a_changed_hub_checkpoint_is_refused(env, ckpt):
    cached = put(env, REPO, "x2/ESC_light_X2.pth", ckpt + b"\0")
    entry = model_entry(sha256=sha(ckpt), sha256_source="a test page")
    with pytest.raises(WeightsChecksumError) as info:
        pull(entry, trust=True)
    msg = str(info.value)
    assert str(cached) in msg and "delete that copy from the Hugging Face cache" in msg
    assert files(env["REPRO_CACHE"]) == []


def test_pull_offline_and_not_cached_names_the_way_out(env):
    with pytest.raises(MissingWeightsError) as info:
        pull(model_entry(sha256="0" * 64, sha256_source="a test page"))
    msg = str(info.value)
    assert "HF_HUB_OFFLINE is set" in msg and "x2/ESC_light_X2.pth" in msg
    assert f"https://huggingface.co/{REPO}/blob/{REV}/x2/ESC_light_X2.pth" in msg  # by hand
    assert "repro pull" not in msg  # never the command that just failed
    assert files(env["REPRO_CACHE"]) == []


def test_an_entry_pins_its_hub_revision():
    with pytest.raises(ValueError, match="not a 40-hex commit"):
        WeightsEntry.metric_file("x", "x.pth", "s", hub_repo=REPO, hub_revision="main")
    with pytest.raises(ValueError, match="together"):
        WeightsEntry.metric_file("x", "x.pth", "s", hub_repo=REPO)


# ----------------------------------------------------------------------------- pull: metric files


def test_pull_stores_a_metric_file_as_it_is_where_the_resolver_finds_it(env):
    body = b"metric network weights"
    entry = metric_entry(f"net-{sha(body)[:8]}.pth", hub_repo=REPO, hub_revision=REV)
    with pytest.raises(NotRun) as info:
        check_found([entry], "weights for 'x'")
    assert info.value.code == NotRunCode.MISSING_WEIGHTS
    assert "repro pull fake-net" in info.value.detail  # the advice of runs
    put(env, REPO, entry.filename, body)
    target = pull(entry)
    assert target == pulled_path(entry) == env["REPRO_CACHE"] / "weights" / "pyiqa" / entry.filename
    assert target.read_bytes() == body and not target.is_symlink()
    assert require(entry) == target and locate(entry).verified == "name"
    assert pull(entry) == target  # here and verified: nothing fetched again
    assert files(env["REPRO_CACHE"]) == [f"weights/pyiqa/{entry.filename}"]
    assert "fake-net" not in read_lock()  # a known hash needs no lock record


def test_pull_refuses_a_metric_file_whose_bytes_do_not_match_its_name(env):
    other = b"the official bytes"
    entry = metric_entry(f"net-{sha(other)[:8]}.pth", hub_repo=REPO, hub_revision=REV)
    put(env, REPO, entry.filename, b"some other bytes")
    with pytest.raises(WeightsChecksumError) as info:
        pull(entry, trust=True)
    msg = str(info.value)
    assert "prefix in its name" in msg and "$REPRO_WEIGHTS/pyiqa/" + entry.filename in msg
    assert "\n" not in msg
    assert files(env["REPRO_CACHE"]) == []  # nothing kept
    with pytest.raises(MissingWeightsError):
        require(entry)


def test_a_metric_file_without_a_known_hash_is_locked_when_trusted(env):
    entry = metric_entry("net.pth", hub_repo=REPO, hub_revision=REV)
    put(env, REPO, "net.pth", b"unpublished weights")
    with pytest.raises(WeightsError, match="not published"):
        pull(entry)
    assert files(env["REPRO_CACHE"]) == []
    target = pull(entry, trust=True)
    record = read_lock()["fake-net"]
    assert record["sha256"] == sha(b"unpublished weights") and record["basis"] == "trusted"
    assert record["source"] == f"hf://{REPO}@{REV}/net.pth"
    assert locate(entry).path == target and locate(entry).verified == "lock"
    target.write_bytes(b"changed")
    with pytest.raises(WeightsChecksumError, match="the file changed since"):
        require(entry)


def test_a_metric_file_is_fetched_from_its_urls(env, tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    body = b"weights over http"
    name = f"net-{sha(body)[:8]}.pth"
    (served / name).write_bytes(body)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        entry = metric_entry(name, urls=(f"http://127.0.0.1:{httpd.server_address[1]}/{name}",))
        with pytest.raises(MissingWeightsError, match="HF_HUB_OFFLINE is set"):
            pull(entry)  # offline: no server is asked
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert pull(entry).read_bytes() == body and require(entry) == pulled_path(entry)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_a_metric_file_without_a_source_says_where_to_put_it(env):
    with pytest.raises(MissingWeightsError) as info:
        pull(metric_entry("net.pth"))
    msg = str(info.value)
    assert "no download source" in msg and "-> $REPRO_WEIGHTS/pyiqa/net.pth" in msg


def test_pull_names_are_weights_ids_models_and_metrics():
    assert [e.id for e in pull_entries("lpips")] == [e.id for e in get_metric("lpips").weights]
    assert pull_entries("camixersr-s", 4) == [get("camixersr-s").weights[4]]
    assert pull_entries(get("camixersr-s").weights[4].id) == [get("camixersr-s").weights[4]]
    musiq = get_metric("musiq").weights
    assert pull_entries(musiq[0].id) == [musiq[0]]
    with pytest.raises(UnknownNameError, match="did you mean musiq"):
        pull_entries("muziq")
    with pytest.raises(WeightsError, match="reads no weight files"):
        pull_entries("psnr")


# ----------------------------------------------------------------------------- the CLI


def test_cli_pull_exit_codes(env, ckpt, capsys, monkeypatch):
    entry = model_entry(sha256=sha(ckpt), sha256_source="a test page")
    monkeypatch.setitem(get("esc-light").catalogue, entry.id, entry)
    assert main(["pull", entry.id]) == 2  # offline, not cached
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "HF_HUB_OFFLINE is set" in err
    assert len(err.strip().splitlines()) == 1
    put(env, REPO, entry.filename, ckpt + b"\0")
    assert main(["pull", entry.id]) == 2
    err = capsys.readouterr().err
    assert "checksum mismatch for tiny-hub-x2" in err and len(err.strip().splitlines()) == 1
    assert files(env["REPRO_CACHE"]) == []
    shutil.rmtree(env["HF_HUB_CACHE"])  # the bad copy deleted, as the message says
    put(env, REPO, entry.filename, ckpt)
    assert main(["pull", entry.id]) == 0
    assert capsys.readouterr().out == f"{entry.id}: {converted_path(entry)}\n"


def test_cli_pull_of_metrics_as_a_user_runs_it(env):
    out = run("repro", "pull", "lpips", "niqe", env_extra={"REPRO_SHARED": str(SHARED)})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "lpips-alex-features",
        "lpips-alex-linear",
        "niqe-pristine",
    ]
    assert all(str(SHARED / "weights") in line for line in lines)  # already here: not fetched

    out = run("repro", "pull", "muziq")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "did you mean musiq" in out.stderr and len(out.stderr.strip().splitlines()) == 1

    musiq = get_metric("musiq").weights[0]
    out = run("repro", "pull", "musiq")  # nothing here, the HF cache empty, offline
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert f"{musiq.hub_repo}@{musiq.hub_revision}/{musiq.filename}" in out.stderr
    assert "HF_HUB_OFFLINE is set" in out.stderr
    assert f"$REPRO_WEIGHTS/pyiqa/{musiq.filename}" in out.stderr

    put(env, musiq.hub_repo, musiq.filename, b"not MUSIQ", musiq.hub_revision)
    out = run("repro", "pull", "musiq")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert f"checksum mismatch for {musiq.id}" in out.stderr
    assert not env["REPRO_CACHE"].exists() or files(env["REPRO_CACHE"]) == []


def test_cli_pull_of_an_unpublished_metric_file_needs_trust(env):
    (maniqa,) = get_metric("maniqa").weights
    assert maniqa.known_sha256 is None  # no published hash: the trust rules apply
    put(env, maniqa.hub_repo, maniqa.filename, b"a MANIQA stand-in", maniqa.hub_revision)
    out = run("repro", "pull", "maniqa")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert f"repro pull {maniqa.id} --trust-unverified" in out.stderr
    assert not env["REPRO_CACHE"].exists() or files(env["REPRO_CACHE"]) == []
    out = run("repro", "pull", maniqa.id, "--trust-unverified")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{maniqa.id}: {pulled_path(maniqa)}\n"
    assert pulled_path(maniqa).read_bytes() == b"a MANIQA stand-in"
    assert read_lock()[maniqa.id]["source"] == (
        f"hf://{maniqa.hub_repo}@{maniqa.hub_revision}/{maniqa.filename}"
    )
    assert run("repro", "pull", "maniqa").returncode == 0  # accepted: checked against the lock
