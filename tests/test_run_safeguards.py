"""Runner, row cache and publishing safeguards that survived a one-line slip (the mutation
exercise of issue #20). Each test names the rule it guards."""

from __future__ import annotations

import json

import pytest
import torch

from repro.data.loaders import open_dataset
from repro.errors import DataError
from repro.eval.loaded import LoadedModel
from repro.eval.runner import Job, evaluate
from repro.models.camixersr.arch import CAMixerSR

PROTOCOL = {"channel": "y", "gray": "rgb3", "ssim": "matlab"}
CPU = torch.device("cpu")


def _loaded(module: torch.nn.Module, provenance: dict) -> LoadedModel:
    return LoadedModel(module, provenance, CPU, CPU)


def _sampling_model() -> CAMixerSR:
    """A small CAMixerSR in the official mode drawing from the global RNG (seed None)."""
    torch.manual_seed(0)
    return CAMixerSR(
        n_block=(1, 1), n_group=2, n_feats=24, scale=4, ratio=0.5, mode="official", seed=None
    ).eval()


def _psnr(model, seed: int) -> list[float]:
    job = Job("camixersr-s", 4, "Set5", [("psnr", None)], PROTOCOL, crop=4)
    rows, _ = evaluate(
        job,
        open_dataset("Set5", 4).limit(2),
        progress=False,
        use_cache=False,
        seed=seed,
        loaded=_loaded(model, {"model": "camixersr-s"}),
    )
    return [r["psnr"] for r in rows]


def test_each_image_is_seeded_so_a_sampling_model_repeats_whatever_ran_before():
    model = _sampling_model()
    first = _psnr(model, seed=0)
    torch.rand(1000)  # the global random stream moves on between the runs
    assert _psnr(model, seed=0) == first
    assert _psnr(model, seed=1) != first  # the draw does decide the output


@pytest.mark.parametrize(
    ("model", "dataset", "says"),
    [
        ("nafssr-t", "Set5", "nafssr-t takes left/right stereo pairs, but Set5 holds single"),
        ("esc-light", "KITTI2012", "esc-light takes single images, but KITTI2012 holds stereo"),
    ],
)
def test_a_model_never_gets_views_it_cannot_take(model, dataset, says):
    from repro.models import build

    family, variant = model.split("-")
    module = build(family, variant, 2).eval()
    job = Job(model, 2, dataset, [("psnr", None)], PROTOCOL, crop=0)
    with pytest.raises(DataError, match=says):
        evaluate(job, open_dataset(dataset, 2), progress=False, loaded=_loaded(module, {}))


def test_rows_computed_with_other_weights_are_never_reused():
    """The row cache's key holds the model's provenance (weights sha256 included)."""
    from repro.models import build

    module = build("bicubic", None, 2)
    job = Job("bicubic", 2, "Set5", [("psnr", None)], PROTOCOL, crop=2)

    def run(weights_sha256: str) -> dict:
        prov = {"model": "bicubic", "weights": {"sha256": weights_sha256}}
        data = open_dataset("Set5", 2).limit(2)
        return evaluate(job, data, progress=False, loaded=_loaded(module, prov))[1]

    assert run("a" * 64)["images_computed"] == 2
    assert run("a" * 64)["images_from_cache"] == 2  # the same weights: reused
    assert run("b" * 64)["images_from_cache"] == 0  # other weights: computed again


def test_cached_rows_of_another_image_are_not_reused():
    """A cache line whose rows name another image than its own (edited, or mixed up) is not
    trusted: that image is scored again."""
    from repro.models import build
    from repro.workspace import current

    module = build("bicubic", None, 2)
    job = Job("bicubic", 2, "Set5", [("psnr", None)], PROTOCOL, crop=2)

    def run() -> tuple[list[dict], dict]:
        data = open_dataset("Set5", 2).limit(2)
        return evaluate(job, data, progress=False, loaded=_loaded(module, {"model": "bicubic"}))

    rows, _ = run()
    (path,) = current().row_cache.glob("*.jsonl")
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    for entry in entries:
        if entry["image"] == "baby":
            entry["rows"] = [{**r, "image": "bird", "psnr": 99.0} for r in entry["rows"]]
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    again, prov = run()
    assert prov["cached_images"] == ["bird"]
    timeless = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert timeless(again) == timeless(rows)  # baby scored again, not 99 dB


@pytest.mark.parametrize("key", ["results:../victim.txt", "reports:../victim.txt", "results:"])
def test_republishing_deletes_only_files_of_the_set_a_hand_edited_manifest_names(key):
    """Files of the old set that the new run no longer writes are removed, but only plain names
    inside the set's folders: a manifest key edited to point outside is never followed."""
    from repro.publish import Destination, publish
    from repro.workspace import current

    dest = Destination("mini")
    victim = current().root / "victim.txt"
    victim.parent.mkdir(parents=True, exist_ok=True)
    victim.write_text("not the table's")
    publish(dest, {".csv": "a\n"}, lambda folder: [], {"table": "mini"})
    manifest = json.loads(dest.manifest.read_text())
    manifest["files"][key] = "0" * 64
    dest.manifest.write_text(json.dumps(manifest))
    publish(dest, {".csv": "b\n"}, lambda folder: [], {"table": "mini"})
    assert victim.read_text() == "not the table's"
    assert dest.results.is_dir() and (dest.results / "mini.csv").read_text() == "b\n"
