"""MUSIQ, MANIQA, CLIPIQA and FID through pyiqa (the ``iqa`` extra), offline, on fake weights.

The weight files are random-initialised networks of the official architectures saved under the
official names (tests/pyiqa_fakes.py): they prove the wiring, not the published scores. Three
shortcuts keep the file fast, each stated where taken: the fakes' sha256 is registered on the
entries; MANIQA scores 1 of its 20 crops (a ViT-B/8 forward of one 224 crop costs seconds on a
CPU core; the full cost is the same network 20 times); FID's Frechet distance is computed from
pyiqa's features by an exact low-rank identity instead of scipy's 2048 x 2048 sqrtm (minutes).
Every test runs with socket connections refused.
"""

from __future__ import annotations

import hashlib
import shutil
import socket

import numpy as np
import pytest
import torch

from repro.errors import (
    MissingWeightsError,
    NotRun,
    NotRunCode,
    WeightsChecksumError,
    WeightsError,
)
from repro.imageio import write_image
from repro.metrics import get_metric
from repro.metrics import pyiqa_backend as backend
from repro.metrics.pyiqa_hub import offline_hub

if backend._import_failure() is not None:
    pytest.skip(
        "pyiqa extra not installed here; .ci/run runs this file in the second venv .venv-iqa",
        allow_module_level=True,
    )

import huggingface_hub.constants  # noqa: E402  (installed with the extra)
import timm  # noqa: E402
from pyiqa.archs.arch_util import get_url_from_name  # noqa: E402
from pyiqa.utils import download_util  # noqa: E402

from tests.pyiqa_fakes import register, write_fake_weights  # noqa: E402

NO_REFERENCE = ("musiq", "maniqa", "clipiqa")


@pytest.fixture(scope="module")
def fakes(tmp_path_factory):
    """A weights folder with every pyiqa file, random-initialised; file name -> sha256."""
    root = tmp_path_factory.mktemp("pyiqa-weights")
    return root, write_fake_weights(root)


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No socket can connect (attempts are recorded, then asserted absent); torch's hub folder
    is an empty temporary one, so the user's pyiqa cache is never read."""
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network blocked by the test")

    for obj, name in (
        (socket.socket, "connect"),
        (socket.socket, "connect_ex"),
        (socket, "create_connection"),
        (socket, "getaddrinfo"),
    ):
        monkeypatch.setattr(obj, name, refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("REPRO_SHARED", str(tmp_path / "no-shared"))
    (tmp_path / "no-shared").mkdir()
    yield attempts
    assert attempts == [], f"network attempted: {attempts}"


@pytest.fixture
def weights(fakes, monkeypatch):
    """REPRO_WEIGHTS -> the fakes, their sha256 registered on the entries."""
    root, digests = fakes
    monkeypatch.setenv("REPRO_WEIGHTS", str(root))
    register(monkeypatch, digests)
    return root


@pytest.fixture
def fresh():
    """Metrics created anew in this test (its weights differ), and not kept for the next."""
    backend._create.cache_clear()
    yield
    backend._create.cache_clear()


def _maniqa_one_crop() -> None:
    backend._create("maniqa", "cpu").net.test_sample = 1  # the shortcut (module docstring)


def _image(seed: int, h: int = 232, w: int = 240) -> np.ndarray:
    """A smooth random RGB image (larger than MANIQA's 224 crop in both directions)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 8, w // 8, 3)).astype(np.uint8)
    return np.ascontiguousarray(np.kron(small, np.ones((8, 8, 1), np.uint8)))


def _rng_state() -> tuple:
    return torch.get_rng_state(), np.random.get_state()


def _same_rng(a: tuple, b: tuple) -> bool:
    same_numpy = all(np.array_equal(x, y) for x, y in zip(a[1], b[1], strict=True))
    return torch.equal(a[0], b[0]) and same_numpy


# ---------------------------------------------------------------------------------------------
# wiring (the networks created here are reused by the tests after it; each creates them itself
# when run alone)


def test_every_metric_is_created_and_scores_offline(weights, monkeypatch, capsys):
    # HF_HUB_OFFLINE unset (conftest sets it; huggingface_hub read it at import): still nothing
    # reaches the network, and MANIQA needs no timm snapshot (the HF cache is empty)
    backend._create.cache_clear()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    create, cache_dir = timm.create_model, download_util.DEFAULT_CACHE_DIR
    for name in (*NO_REFERENCE, "fid"):
        get_metric(name).check_ready()
        backend._create(name, "cpu")
    assert capsys.readouterr().out == ""  # pyiqa's "Loading pretrained model" lines: stderr
    # what offline_hub patched while creating is back as it was
    assert timm.create_model is create and download_util.DEFAULT_CACHE_DIR == cache_dir
    assert huggingface_hub.constants.HF_HUB_OFFLINE is False
    img = _image(0)
    assert np.isfinite(get_metric("musiq").fn(img))
    # CLIP-IQA is a mean of softmax probabilities, whatever the weights
    assert 0.0 <= get_metric("clipiqa").fn(img) <= 1.0
    # (MANIQA scores in test_maniqa_...; FID in test_fid_two_folders)


def test_one_after_another_equals_each_alone(weights):
    a, b = _image(1, 96, 112), _image(2, 80, 136)
    for name in ("musiq", "clipiqa"):
        seq = [get_metric(name).fn(x) for x in (a, b, a)]
        backend._create.cache_clear()  # b alone, on a network that never saw a
        alone_b = get_metric(name).fn(b)
        assert seq[1] == alone_b and seq[0] == seq[2] and seq[0] != seq[1], name


def test_maniqa_keeps_no_state_and_draws_no_random_numbers(weights):
    # pyiqa >= 0.1.13 scores MANIQA on a uniform grid of crops: no RNG is drawn, so any seed
    # gives the same value, and the caller's RNG state is never touched. MANIQA also keeps each
    # forward's ViT block outputs in a hook: a stale one would make b score as a did, or the
    # second a differ from the first.
    _maniqa_one_crop()
    a, b = _image(3), _image(4, 240, 232)
    torch.manual_seed(7)
    np.random.seed(7)
    before = _rng_state()
    maniqa = get_metric("maniqa")
    first, other, again = maniqa.fn(a, iqa_seed=0), maniqa.fn(b), maniqa.fn(a, iqa_seed=12345)
    assert first == again and first != other
    assert np.isfinite(first) and min(first, other) >= 0.0  # a weighted mean of ReLU outputs
    assert _same_rng(before, _rng_state())


def test_seed_fixes_torch_and_numpy_inside_a_call_only():
    # what a metric with random crops would get (pyiqa's random_crop draws from numpy)
    def draw(seed):
        with backend._seeded(seed, "cpu"):
            return torch.rand(3).tolist(), np.random.randint(0, 10**9, 3).tolist()

    before = _rng_state()
    assert draw(5) == draw(5)
    assert draw(5) != draw(6)
    assert _same_rng(before, _rng_state())


def test_fid_two_folders(weights, tmp_path, monkeypatch):
    # pyiqa's FID: Inception features of each folder, then the Frechet distance of their
    # Gaussians, whose scipy sqrtm of a 2048 x 2048 matrix takes minutes on 2 cores. Here the
    # features are pyiqa's own (recorded) and the distance is computed exactly from them: for
    # n < 2048 samples, tr sqrt(S1 S2) is the sum of the singular values of the n1 x n2 matrix
    # A1^T A2 (S = A A^T, A the centred features / sqrt(n - 1)).
    from pyiqa.archs import fid_arch

    feats: list[np.ndarray] = []
    folder_features = fid_arch.get_folder_features

    def features(*args, **kwargs):
        feats.append(folder_features(*args, **kwargs))
        return feats[-1]

    def frechet(mu1, sigma1, mu2, sigma2):
        f1, f2 = feats[-2:]
        assert f1.shape == f2.shape == (2, 2048)  # the pool features of two images
        assert np.allclose(mu1, f1.mean(0)) and np.allclose(sigma1, np.cov(f1, rowvar=False))
        a1, a2 = ((f - f.mean(0)) / np.sqrt(len(f) - 1) for f in (f1, f2))
        root = np.linalg.svd(a1 @ a2.T, compute_uv=False).sum()
        return float(((mu1 - mu2) ** 2).sum() + (a1**2).sum() + (a2**2).sum() - 2 * root)

    monkeypatch.setattr(fid_arch, "get_folder_features", features)
    monkeypatch.setattr(fid_arch, "frechet_distance", frechet)
    sets = {"a": (10, 11), "b": (20, 21)}
    for label, seeds in sets.items():
        (tmp_path / label).mkdir()
        for s in seeds:
            write_image(tmp_path / label / f"{s}.png", _image(s, 64, 80))
    fid = get_metric("fid")
    fid.check_ready()
    ab = fid.score_sets(tmp_path / "a", tmp_path / "b")
    assert np.isfinite(ab) and ab > 0 and not np.array_equal(feats[0], feats[1])
    # the same images given in memory are the same set: the same features, distance 0
    same = fid.score_sets([_image(s, 64, 80) for s in sets["a"]], tmp_path / "a")
    assert np.array_equal(feats[2], feats[3]) and np.array_equal(feats[0], feats[2])
    assert abs(same) < 1e-6 * ab


# ---------------------------------------------------------------------------------------------
# offline errors


def test_offline_hub_refuses_every_download(tmp_path):
    # a file pyiqa would fetch that no entry registers is an error, never a request; a timm
    # backbone asked for with pretrained=True is built without its weights (no HF Hub call)
    with offline_hub(tmp_path):
        with pytest.raises(MissingWeightsError, match="nothing is downloaded"):
            download_util.load_file_from_url(get_url_from_name("musiq_ava_ckpt-e8d3f067.pth"))
        with pytest.raises(MissingWeightsError):
            torch.hub.load_state_dict_from_url("https://download.pytorch.org/models/x-0123abcd.pth")
        assert timm.create_model("vit_tiny_patch16_224", pretrained=True) is not None
    assert not (tmp_path / "pyiqa" / "musiq_ava_ckpt-e8d3f067.pth").exists()


def test_absent_file_is_missing_weights(fakes, monkeypatch, tmp_path, fresh):
    root, digests = fakes
    partial = tmp_path / "weights"
    (partial / "pyiqa").mkdir(parents=True)
    for name in digests:  # everything but MUSIQ's file
        if not name.startswith("musiq"):
            (partial / "pyiqa" / name).symlink_to(root / "pyiqa" / name)
    monkeypatch.setenv("REPRO_WEIGHTS", str(partial))
    register(monkeypatch, digests)
    with pytest.raises(NotRun) as err:
        get_metric("musiq").check_ready()
    assert err.value.code == NotRunCode.MISSING_WEIGHTS
    detail = err.value.detail
    assert "musiq_koniq_ckpt-e95806b9.pth" in detail and "\n" not in detail
    assert "$REPRO_WEIGHTS/pyiqa/musiq_koniq_ckpt-e95806b9.pth" in detail
    assert "repro pull pyiqa-musiq-koniq" in detail
    with pytest.raises(MissingWeightsError) as err:
        get_metric("musiq").fn(_image(0))
    assert str(partial / "pyiqa") in str(err.value)  # the folders looked in
    assert str(tmp_path / "torch" / "hub" / "pyiqa") in str(err.value)
    get_metric("clipiqa").check_ready()  # the others are found


@pytest.mark.parametrize(
    ("name", "filename", "why"),
    [
        ("musiq", "musiq_koniq_ckpt-e95806b9.pth", "e95806b9eae5f3814c410f574ba8e552362bd5bc"),
        # the full published digest, not the 32-bit prefix the file's name carries
        ("fid", "pt_inception-2015-12-05-6726825d.pth", "6726825d0af5f729cebd5821db510b11b1cf"),
    ],
)
def test_wrong_bytes_under_the_official_name_are_refused(
    fakes, monkeypatch, tmp_path, fresh, name, filename, why
):
    # the fake file itself, without its sha256 registered: not the official bytes
    root, _ = fakes
    (tmp_path / "w" / "pyiqa").mkdir(parents=True)
    shutil.copyfile(root / "pyiqa" / filename, tmp_path / "w" / "pyiqa" / filename)
    monkeypatch.setenv("REPRO_WEIGHTS", str(tmp_path / "w"))
    get_metric(name).check_ready()  # present: found (readiness does not hash)
    with pytest.raises(WeightsChecksumError) as err:
        if name == "fid":
            get_metric(name).score_sets([_image(0, 64, 64)], [_image(1, 64, 64)])
        else:
            get_metric(name).fn(_image(0))
    msg = str(err.value)
    assert "checksum mismatch" in msg and filename in msg and why in msg and "\n" not in msg
    assert backend._create.cache_info().currsize == 0  # pyiqa never read the file


def test_a_file_that_is_no_checkpoint_is_a_clean_error(monkeypatch, tmp_path, fresh):
    bad = tmp_path / "w" / "pyiqa" / "musiq_koniq_ckpt-e95806b9.pth"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a checkpoint")
    monkeypatch.setenv("REPRO_WEIGHTS", str(tmp_path / "w"))
    register(monkeypatch, {bad.name: hashlib.sha256(bad.read_bytes()).hexdigest()})
    with pytest.raises(WeightsError, match="pyiqa cannot load the weights of 'musiq'") as err:
        get_metric("musiq").fn(_image(0))
    assert "\n" not in str(err.value)
