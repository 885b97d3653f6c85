"""Weights are verified: published sha256, explicit trust, the weights lock, clean failures.

Downloads come from an HTTP server on 127.0.0.1 started here; any other address is refused, so
nothing reaches the network. The checkpoint served is a real (randomly initialised) ESC-light x2
state dict saved with torch.save.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
import urllib3.util.connection
from safetensors.torch import load_file, save_file

from repro.checksums import sha256_file
from repro.errors import ChecksumError, MissingWeightsError, WeightsError
from repro.models import build, get
from repro.weights import WeightsEntry, converted_path, fetch, fetch_advice, locate, require
from repro.weights.checkpoint import read_state_dict
from repro.weights.fetch import pull
from repro.weights.lock import lock_path, read_lock
from repro.weights.resolver import _metadata

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Only loopback addresses may be contacted (and no proxy from the user's environment)."""
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        if address[0] not in LOOPBACK:
            raise AssertionError(f"test tried to contact {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    real_u3 = urllib3.util.connection.create_connection  # what requests (downloads) connect with

    def guarded_u3(address, *args, **kwargs):
        if address[0] not in LOOPBACK:
            raise AssertionError(f"test tried to contact {address[0]}")
        return real_u3(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded_u3)
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An empty cache and weights folder; no shared folder; downloads allowed."""
    cache, weights = tmp_path / "cache", tmp_path / "weights"
    weights.mkdir()
    monkeypatch.setenv("REPRO_CACHE", str(cache))
    monkeypatch.setenv("REPRO_WEIGHTS", str(weights))
    monkeypatch.setenv("REPRO_SHARED", str(tmp_path / "no-shared"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    return {"cache": cache, "weights": weights}


@pytest.fixture(scope="module")
def ckpt() -> bytes:
    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save({"params_ema": build("esc", "light", scale=2).state_dict()}, buf)
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        kind, body = self.server.routes.get(self.path, ("404", b""))
        if kind in ("404", "500"):
            self.send_error(int(kind))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if kind != "nolength":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body[: len(body) // 2] if kind == "cut" else body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (size cap, refusal): expected in those tests
        self.close_connection = True  # "cut": the body ends early with the connection

    def log_message(self, *args):
        pass


@pytest.fixture
def server(ckpt):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes = {
        "/ok.pth": ("ok", ckpt),
        "/500.pth": ("500", b""),
        "/cut.pth": ("cut", ckpt),
        "/nolength.pth": ("nolength", ckpt),
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd, base
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _entry(url: str, sha256: str | None = None, **kw) -> WeightsEntry:
    return WeightsEntry(
        id="tiny-x2",
        filename="tiny_x2.pth",
        urls=(url,),
        sha256=sha256,
        key="params_ema",
        source="a test server",
        **kw,
    )


def _files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _leftovers(root) -> list[str]:
    return [f for f in _files(root) if ".part-" in f or ".tmp-" in f]


# ----------------------------------------------------------------------------- trust


def test_unverified_download_is_refused_and_nothing_is_kept(env, server, ckpt):
    _, base = server
    entry = _entry(base + "/ok.pth")
    with pytest.raises(WeightsError) as info:
        pull(entry)
    msg = str(info.value)
    assert not isinstance(info.value, (ChecksumError, MissingWeightsError))
    assert "\n" not in msg and "not published" in msg
    assert hashlib.sha256(ckpt).hexdigest() in msg  # the sha256 it got
    assert "repro pull tiny-x2 --trust-unverified" in msg
    assert _files(env["cache"]) == []  # no download, no converted file, no lock


def test_trusted_download_is_locked_and_every_later_load_verified(env, server, ckpt, monkeypatch):
    _, base = server
    entry = _entry(base + "/ok.pth")
    target = pull(entry, trust=True)
    assert target == converted_path(entry) and target.is_file()
    assert _leftovers(env["cache"]) == []
    lock = json.loads(lock_path().read_text())
    record = lock["entries"]["tiny-x2"]
    assert record["sha256"] == hashlib.sha256(ckpt).hexdigest()
    assert record["source"] == base + "/ok.pth" and record["basis"] == "trusted"
    assert record["date"] and record["converted_sha256"] == sha256_file(target)
    assert load_file(str(target)).keys() == torch.load(io.BytesIO(ckpt))["params_ema"].keys()

    found = locate(entry)
    assert (found.path, found.verified, found.origin) == (target, "lock", "converted")
    assert found.source_sha256 == record["sha256"]
    assert pull(entry) == target  # already there: verified, no second download

    # a run through load_model says how the weights were verified
    from repro.eval.predictor import load_model

    monkeypatch.setitem(get("esc-light").weights, 2, entry)
    module, prov = load_model("esc-light", 2)
    assert prov["weights"]["verified"] == "lock" and prov["weights"]["id"] == "tiny-x2"
    assert prov["weights"]["source_sha256"] == record["sha256"]


def test_a_converted_file_changed_after_trust_is_refused(env, server):
    _, base = server
    entry = _entry(base + "/ok.pth")
    target = pull(entry, trust=True)
    state = load_file(str(target))
    name = next(iter(state))
    state[name] = state[name] + 1
    meta = _metadata(target)  # same metadata, other values
    save_file(state, str(target), metadata=meta)
    with pytest.raises(ChecksumError, match="changed since"):
        locate(entry)
    with pytest.raises(ChecksumError, match="changed since") as info:
        pull(entry, trust=True)
    assert "repro pull" not in str(info.value)
    # forged metadata: made from another file
    save_file(state, str(target), metadata={**meta, "source_sha256": "0" * 64})
    with pytest.raises(ChecksumError, match="was made from a file with sha256 0000"):
        locate(entry)


def test_a_local_copy_changed_after_trust_is_refused(env, server, ckpt):
    _, base = server
    entry = _entry(base + "/ok.pth")
    pull(entry, trust=True)
    converted_path(entry).unlink()
    local = env["weights"] / entry.filename
    local.write_bytes(ckpt[:-1] + bytes([ckpt[-1] ^ 1]))
    with pytest.raises(ChecksumError, match="accepted on .* the file changed since"):
        locate(entry)
    local.write_bytes(ckpt)
    found = locate(entry)
    assert (found.path, found.verified, found.origin) == (local, "lock", "local")


def test_trust_does_not_override_a_changed_download(env, server, ckpt):
    httpd, base = server
    entry = _entry(base + "/ok.pth")
    pull(entry, trust=True)
    converted_path(entry).unlink()
    httpd.routes["/ok.pth"] = ("ok", ckpt + b"\0")  # the server now sends another file
    with pytest.raises(ChecksumError, match="accepted on") as info:
        pull(entry, trust=True)
    assert "repro pull" not in str(info.value)
    assert not converted_path(entry).exists() and _leftovers(env["cache"]) == []


def test_a_published_sha256_needs_no_trust(env, server, ckpt):
    _, base = server
    entry = _entry(base + "/ok.pth", sha256=hashlib.sha256(ckpt).hexdigest())
    target = pull(entry)
    found = locate(entry)
    assert (found.path, found.verified) == (target, "registry")
    record = read_lock()["tiny-x2"]
    assert record["basis"] == "registry" and record["converted_sha256"] == found.sha256


@pytest.mark.parametrize("trust", [False, True])
def test_a_wrong_published_sha256_is_refused_and_nothing_left(env, server, trust):
    _, base = server
    entry = _entry(base + "/ok.pth", sha256="0" * 64, sha256_source="a test page")
    with pytest.raises(ChecksumError) as info:
        pull(entry, trust=trust)
    msg = str(info.value)
    assert "expected " + "0" * 64 in msg and "a test page" in msg
    assert "repro pull" not in msg and "REPRO_WEIGHTS" in msg
    assert _files(env["cache"]) == []


# ----------------------------------------------------------------------------- failures


@pytest.mark.parametrize("route", ["/500.pth", "/cut.pth", "/missing.pth"])
def test_failed_downloads_leave_nothing(env, server, route):
    _, base = server
    entry = _entry(base + route)
    with pytest.raises(MissingWeightsError) as info:
        pull(entry, trust=True)
    msg = str(info.value)
    assert "repro pull" not in msg  # never the command that just failed
    assert "tiny_x2.pth" in msg and "REPRO_WEIGHTS" in msg and "--weights PATH" in msg
    if route == "/cut.pth":
        assert "closed after" in msg or "reset" in msg.lower()
    assert _files(env["cache"]) == []


@pytest.mark.parametrize("route", ["/ok.pth", "/nolength.pth"])
def test_downloads_are_bounded(env, server, monkeypatch, route):
    _, base = server
    monkeypatch.setattr(fetch, "MAX_DOWNLOAD_BYTES", 1000)
    with pytest.raises(MissingWeightsError, match="limit"):
        pull(_entry(base + route), trust=True)
    assert _files(env["cache"]) == []


def test_an_interrupted_download_leaves_nothing(env, server, monkeypatch):
    reads = []

    def interrupted(self, amt=None, decode_content=None):  # how repro.download reads a body
        reads.append(amt)
        if len(reads) > 1:
            raise KeyboardInterrupt  # some bytes arrived, then the user pressed Ctrl-C
        return b"x" * 1024

    monkeypatch.setattr(urllib3.response.HTTPResponse, "read1", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pull(_entry(server[1] + "/ok.pth"), trust=True)
    assert _files(env["cache"]) == []


def test_only_http_urls_are_fetched(env):
    with pytest.raises(MissingWeightsError, match="not an http"):
        pull(_entry("file:///etc/hostname"), trust=True)
    assert _files(env["cache"]) == []


# ----------------------------------------------------------------------------- local files, advice


def test_a_placed_file_without_known_hash_loads_unverified(env, ckpt):
    entry = _entry("http://127.0.0.1:9/never.pth")
    (env["weights"] / entry.filename).write_bytes(ckpt)
    found = locate(entry)
    assert (found.verified, found.origin) == ("none", "local")
    target = pull(entry)  # converts the local copy: not a download, so not refused
    assert locate(entry).path == target and locate(entry).verified == "none"
    assert not lock_path().exists()  # nothing was trusted


def test_a_user_path_is_never_refused_and_says_how_it_was_verified(env, ckpt, tmp_path):
    mine = tmp_path / "mine.pth"
    mine.write_bytes(ckpt)
    entry = _entry("http://127.0.0.1:9/never.pth", sha256=hashlib.sha256(ckpt).hexdigest())
    assert locate(entry, mine).verified == "registry"
    other = _entry("http://127.0.0.1:9/never.pth", sha256="0" * 64)
    found = locate(other, mine)  # the user's own (e.g. fine-tuned) file
    assert (found.verified, found.origin) == ("none", "user")


def test_advice_of_runs_and_of_pull(env):
    entry = _entry("http://127.0.0.1:9/never.pth")
    with pytest.raises(MissingWeightsError) as info:
        require(entry)  # a run: may suggest pull, with the trust flag it will need
    assert "repro pull tiny-x2" in str(info.value)
    assert "--trust-unverified" in str(info.value)
    known = dataclasses.replace(entry, sha256="0" * 64)
    assert "--trust-unverified" not in fetch_advice(known)
    nowhere = dataclasses.replace(entry, urls=())
    for call in (require, pull):
        with pytest.raises(MissingWeightsError) as info:
            call(nowhere)
        assert "repro pull" not in str(info.value) and "by hand" in str(info.value)


def test_the_weights_key_hint_names_the_eval_flag(tmp_path):
    path = tmp_path / "two.pth"
    torch.save({"params": {"w": torch.zeros(1)}, "other": {"w": torch.zeros(1)}}, path)
    with pytest.raises(WeightsError, match="--weights-key NAME") as info:
        read_state_dict(path, "params_ema")
    assert "--set" not in str(info.value)


def test_a_corrupt_lock_is_reported(env, server):
    lock_path().parent.mkdir(parents=True, exist_ok=True)
    lock_path().write_text("{not json")
    with pytest.raises(WeightsError, match="weights lock"):
        locate(_entry(server[1] + "/ok.pth"))


def test_registry_hashes_name_their_source():
    from repro.eval.predictor import weights_table

    table = weights_table()
    known = {k for k, e in table.items() if e.sha256}
    assert {"camixersr-s-x4", "esc-real-x4", "nafssr-l-x2", "nafssr-l-x4"} <= known
    for e in table.values():
        assert bool(e.sha256) == bool(e.sha256_source), e.id
        if e.sha256:
            assert len(e.sha256) == 64 and int(e.sha256, 16) >= 0


# ----------------------------------------------------------------------------- metric files


def _metric_entry(filename: str, **kw) -> WeightsEntry:
    return WeightsEntry.metric_file("a-metric-file", filename, "a test file", **kw)


def test_metric_files_are_found_in_order_and_checked_by_name_prefix(env, tmp_path, monkeypatch):
    from repro.errors import NotRun, NotRunCode
    from repro.weights import check_found, resolver

    monkeypatch.setattr(resolver, "torch_hub_dir", lambda: tmp_path / "hub")
    body = b"metric weights"
    name = f"net-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    entry = _metric_entry(name, subdir="pyiqa", cache="torch")
    with pytest.raises(NotRun) as info:
        check_found([entry], "weights for 'x'")
    assert info.value.code == NotRunCode.MISSING_WEIGHTS and name in info.value.detail
    assert str(tmp_path) not in info.value.detail  # NOT-RUN cells read the same everywhere
    with pytest.raises(MissingWeightsError, match="looked in .*hub") as info:
        require(entry)
    hub = tmp_path / "hub" / "checkpoints" / name
    hub.parent.mkdir(parents=True)
    hub.write_bytes(body)
    assert require(entry) == hub and locate(entry).verified == "name"
    check_found([entry])  # found: raises nothing
    placed = env["weights"] / "pyiqa" / name  # searched before torch's cache
    placed.parent.mkdir()
    placed.write_bytes(b"other bytes")
    assert resolver.find(entry) == placed  # found is not verified ...
    with pytest.raises(ChecksumError, match="prefix in its name") as info:
        require(entry)  # ... reading it is
    assert isinstance(info.value, WeightsError)
    placed.write_bytes(body)  # a changed file is hashed again
    assert require(entry) == placed


def test_a_hugging_face_repository_is_a_snapshot_folder(env):
    entry = _metric_entry("org/net", cache="hf")
    snaps = env["weights"] / "hf" / "models--org--net" / "snapshots"
    snaps.mkdir(parents=True)
    with pytest.raises(MissingWeightsError, match="Hugging Face cache"):
        require(entry)  # an empty snapshots folder holds nothing
    (snaps / ("0" * 40)).mkdir()
    assert require(entry) == snaps.parent
