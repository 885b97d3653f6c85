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
from safetensors.torch import load_file, save_file

import repro.models.weights as W
from repro.errors import ChecksumError, MissingWeightsError, WeightsError
from repro.models import build, get
from repro.models.registry import WeightsEntry

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
        W.pull(entry)
    msg = str(info.value)
    assert not isinstance(info.value, (ChecksumError, MissingWeightsError))
    assert "\n" not in msg and "not published" in msg
    assert hashlib.sha256(ckpt).hexdigest() in msg  # the sha256 it got
    assert "python -m repro pull tiny-x2 --trust-unverified" in msg
    assert _files(env["cache"]) == []  # no download, no converted file, no lock


def test_trusted_download_is_locked_and_every_later_load_verified(env, server, ckpt, monkeypatch):
    _, base = server
    entry = _entry(base + "/ok.pth")
    target = W.pull(entry, trust=True)
    assert target == W.converted_path(entry) and target.is_file()
    assert _leftovers(env["cache"]) == []
    lock = json.loads(W.lock_path().read_text())
    record = lock["entries"]["tiny-x2"]
    assert record["sha256"] == hashlib.sha256(ckpt).hexdigest()
    assert record["source"] == base + "/ok.pth" and record["basis"] == "trusted"
    assert record["date"] and record["converted_sha256"] == W.sha256_file(target)
    assert load_file(str(target)).keys() == torch.load(io.BytesIO(ckpt))["params_ema"].keys()

    found = W.locate(entry)
    assert (found.path, found.verified, found.origin) == (target, "lock", "converted")
    assert found.source_sha256 == record["sha256"]
    assert W.pull(entry) == target  # already there: verified, no second download

    # a run through load_model says how the weights were verified
    from repro.eval.predictor import load_model

    monkeypatch.setitem(get("esc-light").weights, 2, entry)
    module, prov = load_model("esc-light", 2)
    assert prov["weights"]["verified"] == "lock" and prov["weights"]["id"] == "tiny-x2"
    assert prov["weights"]["source_sha256"] == record["sha256"]


def test_a_converted_file_changed_after_trust_is_refused(env, server):
    _, base = server
    entry = _entry(base + "/ok.pth")
    target = W.pull(entry, trust=True)
    state = load_file(str(target))
    name = next(iter(state))
    state[name] = state[name] + 1
    meta = W._metadata(target)  # same metadata, other values
    save_file(state, str(target), metadata=meta)
    with pytest.raises(ChecksumError, match="changed since"):
        W.locate(entry)
    with pytest.raises(ChecksumError, match="changed since") as info:
        W.pull(entry, trust=True)
    assert "repro pull" not in str(info.value)
    # forged metadata: made from another file
    save_file(state, str(target), metadata={**meta, "source_sha256": "0" * 64})
    with pytest.raises(ChecksumError, match="was made from a file with sha256 0000"):
        W.locate(entry)


def test_a_local_copy_changed_after_trust_is_refused(env, server, ckpt):
    _, base = server
    entry = _entry(base + "/ok.pth")
    W.pull(entry, trust=True)
    W.converted_path(entry).unlink()
    local = env["weights"] / entry.filename
    local.write_bytes(ckpt[:-1] + bytes([ckpt[-1] ^ 1]))
    with pytest.raises(ChecksumError, match="accepted on .* the file changed since"):
        W.locate(entry)
    local.write_bytes(ckpt)
    found = W.locate(entry)
    assert (found.path, found.verified, found.origin) == (local, "lock", "local")


def test_trust_does_not_override_a_changed_download(env, server, ckpt):
    httpd, base = server
    entry = _entry(base + "/ok.pth")
    W.pull(entry, trust=True)
    W.converted_path(entry).unlink()
    httpd.routes["/ok.pth"] = ("ok", ckpt + b"\0")  # the server now sends another file
    with pytest.raises(ChecksumError, match="accepted on") as info:
        W.pull(entry, trust=True)
    assert "repro pull" not in str(info.value)
    assert not W.converted_path(entry).exists() and _leftovers(env["cache"]) == []


def test_a_published_sha256_needs_no_trust(env, server, ckpt):
    _, base = server
    entry = _entry(base + "/ok.pth", sha256=hashlib.sha256(ckpt).hexdigest())
    target = W.pull(entry)
    found = W.locate(entry)
    assert (found.path, found.verified) == (target, "registry")
    record = W.read_lock()["tiny-x2"]
    assert record["basis"] == "registry" and record["converted_sha256"] == found.sha256


@pytest.mark.parametrize("trust", [False, True])
def test_a_wrong_published_sha256_is_refused_and_nothing_left(env, server, trust):
    _, base = server
    entry = _entry(base + "/ok.pth", sha256="0" * 64, sha256_source="a test page")
    with pytest.raises(ChecksumError) as info:
        W.pull(entry, trust=trust)
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
        W.pull(entry, trust=True)
    msg = str(info.value)
    assert "repro pull" not in msg  # never the command that just failed
    assert "tiny_x2.pth" in msg and "REPRO_WEIGHTS" in msg and "--weights PATH" in msg
    if route == "/cut.pth":
        assert "closed after" in msg or "reset" in msg.lower()
    assert _files(env["cache"]) == []


@pytest.mark.parametrize("route", ["/ok.pth", "/nolength.pth"])
def test_downloads_are_bounded(env, server, monkeypatch, route):
    _, base = server
    monkeypatch.setattr(W, "MAX_DOWNLOAD_BYTES", 1000)
    with pytest.raises(MissingWeightsError, match="limit"):
        W.pull(_entry(base + route), trust=True)
    assert _files(env["cache"]) == []


def test_an_interrupted_download_leaves_nothing(env, monkeypatch):
    class Response:
        headers = {"Content-Length": "4096"}
        calls = 0

        def read(self, n):
            Response.calls += 1
            if Response.calls > 1:
                raise KeyboardInterrupt
            return b"x" * 1024

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(W.urllib.request, "urlopen", lambda url, timeout: Response())
    with pytest.raises(KeyboardInterrupt):
        W.pull(_entry("http://127.0.0.1:9/x.pth"), trust=True)
    assert _files(env["cache"]) == []


def test_only_http_urls_are_fetched(env):
    with pytest.raises(MissingWeightsError, match="not an http"):
        W.pull(_entry("file:///etc/hostname"), trust=True)
    assert _files(env["cache"]) == []


# ----------------------------------------------------------------------------- local files, advice


def test_a_placed_file_without_known_hash_loads_unverified(env, ckpt):
    entry = _entry("http://127.0.0.1:9/never.pth")
    (env["weights"] / entry.filename).write_bytes(ckpt)
    found = W.locate(entry)
    assert (found.verified, found.origin) == ("none", "local")
    target = W.pull(entry)  # converts the local copy: not a download, so not refused
    assert W.locate(entry).path == target and W.locate(entry).verified == "none"
    assert not W.lock_path().exists()  # nothing was trusted


def test_a_user_path_is_never_refused_and_says_how_it_was_verified(env, ckpt, tmp_path):
    mine = tmp_path / "mine.pth"
    mine.write_bytes(ckpt)
    entry = _entry("http://127.0.0.1:9/never.pth", sha256=hashlib.sha256(ckpt).hexdigest())
    assert W.locate(entry, mine).verified == "registry"
    other = _entry("http://127.0.0.1:9/never.pth", sha256="0" * 64)
    found = W.locate(other, mine)  # the user's own (e.g. fine-tuned) file
    assert (found.verified, found.origin) == ("none", "user")


def test_advice_of_runs_and_of_pull(env):
    entry = _entry("http://127.0.0.1:9/never.pth")
    with pytest.raises(MissingWeightsError) as info:
        W.resolve(entry)  # a run: may suggest pull, with the trust flag it will need
    assert "python -m repro pull tiny-x2" in str(info.value)
    assert "--trust-unverified" in str(info.value)
    known = dataclasses.replace(entry, sha256="0" * 64)
    assert "--trust-unverified" not in W.fetch_advice(known)
    nowhere = dataclasses.replace(entry, urls=())
    for call in (W.resolve, W.pull):
        with pytest.raises(MissingWeightsError) as info:
            call(nowhere)
        assert "repro pull" not in str(info.value) and "by hand" in str(info.value)


def test_the_weights_key_hint_names_the_eval_flag(tmp_path):
    path = tmp_path / "two.pth"
    torch.save({"params": {"w": torch.zeros(1)}, "other": {"w": torch.zeros(1)}}, path)
    with pytest.raises(WeightsError, match="--weights-key NAME") as info:
        W.read_state_dict(path, "params_ema")
    assert "--set" not in str(info.value)


def test_a_corrupt_lock_is_reported(env, server):
    W.lock_path().parent.mkdir(parents=True, exist_ok=True)
    W.lock_path().write_text("{not json")
    with pytest.raises(WeightsError, match="weights lock"):
        W.locate(_entry(server[1] + "/ok.pth"))


def test_registry_hashes_name_their_source():
    from repro.eval.predictor import weights_table

    table = weights_table()
    known = {k for k, e in table.items() if e.sha256}
    assert {"camixersr-s-x4", "esc-real-x4", "nafssr-l-x2", "nafssr-l-x4"} <= known
    for e in table.values():
        assert bool(e.sha256) == bool(e.sha256_source), e.id
        if e.sha256:
            assert len(e.sha256) == 64 and int(e.sha256, 16) >= 0
