"""Weights safeguards that survived a one-line slip (the mutation exercise of issue #20).

Each test names the rule it guards; each failed with the slip in place (see the lead's note).
"""

from __future__ import annotations

import hashlib
import io
import os

import pytest
import torch

from repro.errors import ChecksumError, WeightsChecksumError, WeightsError
from repro.eval.predictor import load_model
from repro.models import build
from repro.weights import WeightsEntry, locate
from repro.weights.checkpoint import load_strict, read_state_dict
from repro.weights.fetch import convert, pull
from repro.weights.hub import parse_hf_url
from repro.weights.lock import matches
from tests.conftest import SHARED

OFFICIAL = SHARED / "weights" / "camixersr" / "CAMixerSR_S.pth"
OFFICIAL_SHA256 = "49ffcfbb59583b4512ed7f4290b6f480b4bac50afb3d1db1553687bbdeff3076"


@pytest.fixture
def env(tmp_path, monkeypatch):
    for var in ("REPRO_WEIGHTS", "TORCH_HOME", "HF_HUB_CACHE"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("REPRO_SHARED", str(tmp_path / "no-shared"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "repro_weights").mkdir()
    return tmp_path


def _tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return build("nafssr", "t", 2)


# ----------------------------------------------------------------------------- strict loading


def test_a_checkpoint_with_an_extra_key_is_refused_in_one_line():
    model = _tiny()
    state = {**model.state_dict(), "extra.weight": torch.zeros(1)}
    with pytest.raises(WeightsError, match="unexpected key 'extra.weight'") as info:
        load_strict(model, state, source="x.pth")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_a_checkpoint_holding_inf_or_nan_is_refused(bad):
    model = _tiny()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    name = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)
    state[name].view(-1)[1] = bad  # one value of one tensor; no NaN for +-inf
    with pytest.raises(WeightsError, match=f"non-finite values .* in '{name}'"):
        load_strict(model, state)


def test_a_checkpoint_is_never_unpickled_beyond_tensors(tmp_path):
    """A .pth whose pickle would call a function (here: create a file) is refused unrun."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pth"
    torch.save({"params_ema": {"w": torch.zeros(1)}, "x": Payload()}, path)
    with pytest.raises(WeightsError, match="cannot read checkpoint .* safely"):
        read_state_dict(path)
    assert not marker.exists()


# ----------------------------------------------------------------------------- verification


def test_a_sha256_prefix_shorter_than_8_hex_digits_matches_nothing():
    digest = hashlib.sha256(b"x").hexdigest()
    assert matches(digest, digest) and matches(digest, digest[:8])
    assert not matches(digest, "") and not matches(digest, digest[:7])
    assert not matches(digest, "0" * 64)


def test_only_a_torch_hub_file_name_carries_a_sha256_prefix():
    name = "net-0123abcd.pth"
    assert WeightsEntry.metric_file("m", name, "s", cache="torch").known_sha256 == "0123abcd"
    assert WeightsEntry.metric_file("m", name, "s").known_sha256 is None
    assert WeightsEntry(id="a-x2", filename=name).known_sha256 is None


def test_a_revision_is_exactly_40_hex_digits():
    good = "0" * 40
    assert parse_hf_url(f"hf://a/b@{good}/w.pth")[1] == good
    for bad in (good + "0", good + "x", good[:-1]):
        with pytest.raises(WeightsError, match="not a 40-hex commit"):
            parse_hf_url(f"hf://a/b@{bad}/w.pth")


def test_convert_refuses_a_file_that_is_not_the_official_one(env, tmp_path):
    entry = WeightsEntry(id="s-x4", filename="CAMixerSR_S.pth", sha256=OFFICIAL_SHA256)
    wrong = tmp_path / "CAMixerSR_S.pth"
    torch.save({"params_ema": build("camixersr", "s", 4).state_dict()}, wrong)
    with pytest.raises(ChecksumError, match="checksum mismatch for s-x4"):
        convert(wrong, entry)
    assert not (env / "cache").exists() or not any((env / "cache").rglob("*.*"))


def test_pull_refuses_a_wrong_metric_file_found_here(env):
    body = b"the official bytes"
    entry = WeightsEntry.metric_file(
        "a-net",
        "net.pth",
        "a test file",
        subdir="pyiqa",
        sha256=hashlib.sha256(body).hexdigest(),
        urls=("http://127.0.0.1:9/net.pth",),
    )
    placed = env / "repro_weights" / "pyiqa" / "net.pth"
    placed.parent.mkdir()
    placed.write_bytes(b"other bytes")
    with pytest.raises(WeightsChecksumError, match="checksum mismatch for a-net"):
        pull(entry)  # here but wrong: refused, never fetched over
    assert placed.read_bytes() == b"other bytes"


def test_a_hugging_face_snapshot_folder_is_not_called_verified(env):
    entry = WeightsEntry.metric_file("hf-net", "org/net", "a test repository", cache="hf")
    (env / "repro_weights" / "hf" / "models--org--net" / "snapshots" / ("0" * 40)).mkdir(
        parents=True
    )
    found = locate(entry)
    assert found.path.name == "models--org--net" and found.verified == "none"


# ----------------------------------------------------------------------------- the bytes loaded


def test_the_bytes_loaded_are_the_bytes_verified(env, monkeypatch):
    """A checkpoint swapped between its check and its read is refused, not loaded."""
    import repro.eval.predictor as predictor

    mine = env / "mine.pth"
    mine.write_bytes(OFFICIAL.read_bytes())
    real_locate = predictor.locate

    def locate_then_swap(entry, path=None):
        found = real_locate(entry, path)
        other = build("camixersr", "s", 4).state_dict()
        buf = io.BytesIO()
        torch.save({"params_ema": other}, buf)
        mine.write_bytes(buf.getvalue())  # replaced after it was hashed
        os.utime(mine, ns=(0, 0))
        return found

    monkeypatch.setattr(predictor, "locate", locate_then_swap)
    with pytest.raises(WeightsChecksumError, match="changed while it was read"):
        load_model("camixersr-s", 4, weights_path=str(mine))
    monkeypatch.setattr(predictor, "locate", real_locate)
    module, prov = load_model("camixersr-s", 4, weights_path=str(OFFICIAL))
    assert prov["weights"]["verified"] == "registry"


# ----------------------------------------------------------------------------- which weights


def test_a_model_without_weights_refuses_weights_flags():
    for kwargs in ({"weights_path": str(OFFICIAL)}, {"weights_key": "params"}):
        with pytest.raises(WeightsError, match="bicubic has no weights: drop --weights"):
            load_model("bicubic", 4, **kwargs)


def test_a_checkpoint_of_another_family_is_an_unknown_weights_id():
    with pytest.raises(WeightsError, match="unknown weights 'camixersr-s-x4' for esc-light"):
        load_model("esc-light", 2, weights_id="camixersr-s-x4")
