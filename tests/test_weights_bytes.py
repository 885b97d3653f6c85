"""Weights are trusted by their bytes, never by what a file says about itself.

A converted checkpoint in the cache (``<cache>/weights/<id>.safetensors``) carries the source's
sha256 in its own metadata; anyone can write that. It is trusted only through the weights lock
record written when ``repro pull`` converted it from a verified file (the source's sha256 and
the converted file's own sha256). The forged file here holds random CAMixerSR-S weights with
metadata naming the published sha256 of the official ``CAMixerSR_S.pth`` (in ../shared).
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from repro.checksums import sha256_file
from repro.cli import main
from repro.errors import WeightsChecksumError, WeightsError
from repro.eval.predictor import load_model
from repro.models import build, get
from repro.weights import converted_path, locate
from repro.weights.checkpoint import read_state_dict
from repro.weights.lock import lock_path, read_lock, record_lock
from tests.conftest import SHARED

OFFICIAL = SHARED / "weights" / "camixersr" / "CAMixerSR_S.pth"
ENTRY = get("camixersr-s").weights[4]  # sha256 published (the registry's)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An empty cache; the official file in the shared weights folder unless ``hide()``."""
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("REPRO_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("REPRO_SHARED", str(SHARED))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no download: pull cannot fetch the file anew

    def hide() -> None:  # the official file is nowhere here
        monkeypatch.setenv("REPRO_SHARED", str(tmp_path / "no-shared"))

    return hide


def forge(path=None, metadata: dict | None = None) -> None:
    """Random CAMixerSR-S weights whose metadata claims the official file as their source."""
    torch.manual_seed(1)
    state = build("camixersr", "s", scale=4).state_dict()
    meta = {"source_sha256": ENTRY.sha256, "source_file": "CAMixerSR_S.pth", "key": "params_ema"}
    target = path or converted_path(ENTRY)
    target.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(target), metadata=metadata or meta)


def official_state() -> dict[str, torch.Tensor]:
    return read_state_dict(OFFICIAL, "params_ema")


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_forged_converted_file_is_reconverted_from_the_verified_official_file(env, capsys):
    forge()
    forged = sha256_file(converted_path(ENTRY))
    found = locate(ENTRY)  # a run: the verified official file, never the forged one
    assert (found.path, found.verified) == (OFFICIAL, "registry")
    module, prov = load_model("camixersr-s", 4)
    assert same_state(module.state_dict(), official_state())
    assert prov["weights"]["verified"] == "registry"

    assert main(["pull", ENTRY.id]) == 0  # converted anew from the verified file
    capsys.readouterr()
    target = converted_path(ENTRY)
    assert sha256_file(target) != forged
    assert same_state(load_file(str(target)), official_state())
    record = read_lock()[ENTRY.id]
    assert record["sha256"] == ENTRY.sha256 and record["converted_sha256"] == sha256_file(target)
    found = locate(ENTRY)
    assert (found.path, found.verified, found.origin) == (target, "registry", "converted")


def test_a_forged_converted_file_without_the_official_file_is_refused(env, capsys):
    env()  # hide the official file
    forge()
    assert main(["pull", ENTRY.id]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    with pytest.raises(WeightsError) as info:
        locate(ENTRY)
    msg = str(info.value)
    assert "\n" not in msg and str(converted_path(ENTRY)) in msg
    assert "weights lock" in msg and "delete it" in msg and f"repro pull {ENTRY.id}" in msg
    with pytest.raises(WeightsError):
        load_model("camixersr-s", 4)
    data = ["--dataset", "Set5", "--data-root", str(SHARED / "data"), "--limit", "1"]
    assert main(["eval", "--model", "camixersr-s", "--scale", "4", *data]) == 2
    err = capsys.readouterr().err
    assert "weights lock" in err and len(err.strip().splitlines()) == 1


def test_a_lock_record_of_another_source_does_not_vouch(env, capsys):
    """A record of a conversion from another file (not the published one) vouches for nothing,
    even when it names the converted file's sha256."""
    env()
    forge()
    record_lock(
        ENTRY,
        sha256="0" * 64,
        source="elsewhere",
        basis="registry",
        converted_sha256=sha256_file(converted_path(ENTRY)),
    )
    with pytest.raises(WeightsError, match="weights lock"):
        locate(ENTRY)
    mine = converted_path(ENTRY)  # the same bytes given as --weights: the user's, unverified
    assert locate(ENTRY, mine).verified == "none"


def test_a_recorded_conversion_is_trusted_and_a_changed_one_refused(env, capsys):
    assert main(["pull", ENTRY.id]) == 0  # converted from the verified official file
    env()  # from now on only the converted file is here
    target = converted_path(ENTRY)
    found = locate(ENTRY)
    assert (found.path, found.verified, found.source_sha256) == (target, "registry", ENTRY.sha256)
    assert locate(ENTRY, target).verified == "registry"  # the same bytes given as --weights
    forge()  # replaced after the conversion was recorded
    with pytest.raises(WeightsChecksumError, match="changed since"):
        locate(ENTRY)
    assert main(["pull", ENTRY.id]) == 2
    assert "changed since" in capsys.readouterr().err


def test_the_lock_deleted_means_the_conversion_is_made_again(env, capsys):
    assert main(["pull", ENTRY.id]) == 0
    lock_path().unlink()  # as the lock's own error message allows
    found = locate(ENTRY)
    assert (found.path, found.verified) == (OFFICIAL, "registry")
    assert main(["pull", ENTRY.id]) == 0
    assert read_lock()[ENTRY.id]["converted_sha256"] == sha256_file(converted_path(ENTRY))
    assert locate(ENTRY).origin == "converted"


def test_no_weight_file_is_verified_by_the_prefix_in_its_name_alone():
    """A torch.hub-style name carries 8 hex digits of the sha256 (32 bits: a crafted file can
    match them); every registered file has its full digest, which extends that prefix."""
    import dataclasses

    from repro.eval.predictor import weights_table
    from repro.eval.pulls import metric_files

    named = 0
    for entry in (*metric_files().values(), *weights_table().values()):
        prefix = dataclasses.replace(entry, sha256=None).known_sha256
        if prefix is not None:
            named += 1
            assert entry.sha256 and entry.sha256.startswith(prefix), entry.id
            assert len(entry.known_sha256) == 64
    assert named >= 2  # MUSIQ's and FID's files are named so
