"""Hostile checkpoints and weight caches, and `pull` where nothing can be downloaded."""

from __future__ import annotations

import os
import pickle
import struct

import pytest

from tests.conftest import SHARED
from tests.hostile.inputs import flip_byte
from tests.hostile.sandbox import expect_error

CAMIXER_S = SHARED / "weights" / "camixersr" / "CAMixerSR_S.pth"
EVAL_CAM = ["eval", "--model", "camixersr-s", "--scale", "4", "--dataset", "Set5", "--limit", "1"]
EVAL_BIC = ["eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set5", "--limit", "1"]


class _Payload:
    """Unpickling this calls print('PWNED'): proof that a loader ran a pickle."""

    def __reduce__(self):
        return (print, ("PWNED",))


def _file(name: str, data: bytes | None):
    def make(sb):
        if data is None:
            (sb.inp / name).mkdir()
        else:
            (sb.inp / name).write_bytes(data)
        return sb.inp / name

    return make


@pytest.mark.parametrize(
    "make, needles",
    [
        pytest.param(lambda sb: sb.inp / "nope.pth", ("nope.pth",), id="w-missing-file"),
        pytest.param(_file("zero.pth", b""), ("zero.pth",), id="w-zero-byte-pth"),
        pytest.param(
            _file("text.pth", b"not a checkpoint\n"), ("text.pth",), id="w-text-named-pth"
        ),
        pytest.param(
            _file("g.safetensors", os.urandom(512)), ("g.safetensors",), id="w-garbage-safetensors"
        ),
        # the header length claims 2**60 bytes
        pytest.param(
            _file("h.safetensors", struct.pack("<Q", 1 << 60) + b"{}"),
            (),
            id="w-safetensors-huge-header",
        ),
        pytest.param(_file("w.pth", None), (), id="w-directory-as-weights"),
    ],
)
def test_a_weights_file_that_is_no_checkpoint(sb, make, needles):
    """eval camixersr-s --weights <not a checkpoint>"""
    expect_error(sb.run(*EVAL_CAM, "--weights", str(make(sb))), *needles)


@pytest.mark.parametrize(
    "name, needles",
    [
        pytest.param("esc_light_x2_flat.pth", ("key",), id="w-checkpoint-of-another-model"),
        # {'params': state}; the default key is params_ema
        pytest.param("camixer_s_x4_key_params.pth", ("params_ema",), id="w-checkpoint-wrong-key"),
        pytest.param("not_tensors.pth", (), id="w-not-tensors"),
        pytest.param("camixer_s_x4_nan.pth", ("non-finite",), id="w-nan-weights"),
    ],
)
def test_a_checkpoint_that_does_not_fit(sb, ckpts, name, needles):
    """eval camixersr-s --weights a checkpoint of the wrong shape or content"""
    expect_error(sb.run(*EVAL_CAM, "--weights", str(ckpts / name)), *needles)


def test_w_checkpoint_of_another_scale(sb):
    """eval camixersr-s --scale 2 --weights the official x4 CAMixerSR_S.pth"""
    args = ["eval", "--model", "camixersr-s", "--scale", "2", "--dataset", "Set5", "--limit", "1"]
    expect_error(sb.run(*args, "--weights", str(CAMIXER_S)), "shape")


def test_w_weights_key_unknown(sb):
    """eval camixersr-s --weights CAMixerSR_S.pth --weights-key nosuch"""
    expect_error(
        sb.run(*EVAL_CAM, "--weights", str(CAMIXER_S), "--weights-key", "nosuch"), "nosuch"
    )


def test_w_malicious_pickle(sb):
    """eval camixersr-s --weights a raw pickle that would call print('PWNED') if unpickled"""
    (sb.inp / "payload.pth").write_bytes(pickle.dumps({"params_ema": _Payload()}, protocol=2))
    r = sb.run(*EVAL_CAM, "--weights", str(sb.inp / "payload.pth"))
    expect_error(r)
    assert "PWNED" not in r.stdout + r.stderr, "the pickle was executed"


def test_w_corrupt_copy_in_repro_weights(sb):
    """eval camixersr-s with REPRO_WEIGHTS holding a corrupt CAMixerSR_S.pth (sha256 known)"""
    folder = sb.root / "weights"
    folder.mkdir()
    (folder / "CAMixerSR_S.pth").write_bytes(CAMIXER_S.read_bytes())
    flip_byte(folder / "CAMixerSR_S.pth", CAMIXER_S.stat().st_size // 2)
    sb.setenv("REPRO_WEIGHTS", folder)
    expect_error(sb.run(*EVAL_CAM), "checksum")


def test_w_corrupt_converted_cache(sb):
    """eval camixersr-s with a garbage converted cache file camixersr-s-x4.safetensors"""
    (sb.cache / "weights").mkdir(parents=True)
    (sb.cache / "weights" / "camixersr-s-x4.safetensors").write_bytes(os.urandom(256))
    expect_error(sb.run(*EVAL_CAM), "camixersr-s-x4")


def test_w_weights_lock_malformed(sb):
    """eval camixersr-s with a weights.lock.json cut short"""
    sb.cache.mkdir(parents=True)
    (sb.cache / "weights.lock.json").write_text('{"version": 1, "entries": {')
    expect_error(sb.run(*EVAL_CAM), "lock")


def test_w_weights_for_a_weightless_model(sb):
    """eval bicubic --weights CAMixerSR_S.pth: the file cannot be used; say so, not ignore it"""
    expect_error(sb.run(*EVAL_BIC, "--weights", str(CAMIXER_S)), "weights")


# -- pull, offline --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, needles, forbid",
    [
        pytest.param(["no-such-model"], ("no-such-model",), (), id="pull-unknown-id"),
        # must not advise running the same pull again
        pytest.param(
            ["esc-light", "--scale", "4"], (), ("repro pull esc-light",), id="pull-offline"
        ),
        pytest.param(
            ["esc-x4-dflip"], (), ("repro pull esc-x4-dflip",), id="pull-offline-by-weights-id"
        ),
        # the flag the docs name is accepted; the refusal is about the network
        pytest.param(
            ["esc-light", "--scale", "4", "--trust-unverified"],
            (),
            ("unrecognized arguments",),
            id="pull-trust-flag-named-in-help",
        ),
        pytest.param(["bicubic"], ("bicubic",), (), id="pull-model-without-checkpoints"),
        pytest.param(["esc-real", "--scale", "2"], ("x2",), (), id="pull-scale-without-checkpoint"),
    ],
)
def test_pull_that_cannot_succeed(sb, args, needles, forbid):
    expect_error(sb.run("pull", *args), *needles, forbid=forbid)


def test_pull_cache_under_a_file(sb):
    """pull camixersr-s --scale 4 (converts the shared copy) with REPRO_CACHE under a file"""
    (sb.inp / "afile").write_text("x")
    sb.setenv("REPRO_CACHE", sb.inp / "afile" / "cache")
    expect_error(sb.run("pull", "camixersr-s", "--scale", "4"))


@pytest.mark.slow
def test_pull_no_network(sb):
    """pull esc-light --scale 4 online, every connection refused (proxies on 127.0.0.1:9): a
    process, so that the HTTP clients read the closed proxies afresh"""
    sb.setenv("HF_HUB_OFFLINE", "0")
    r = sb.run_process("pull", "esc-light", "--scale", "4", timeout=120)
    expect_error(r, forbid=("repro pull esc-light",))
