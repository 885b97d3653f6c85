"""Any spandrel checkpoint (the zoo extra): random-initialised state dicts of eight spandrel
architectures at several scales, saved as .pth and safetensors, are detected, checked and scored
exactly as the networks called directly. Runs where spandrel is installed (`.venv-iqa`)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

spandrel = pytest.importorskip("spandrel", reason="needs the zoo extra (pip install -e '.[zoo]')")

from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.ESRGAN import ESRGAN  # noqa: E402
from spandrel.architectures.HAT import HAT  # noqa: E402
from spandrel.architectures.OmniSR import OmniSR  # noqa: E402
from spandrel.architectures.RCAN import RCAN  # noqa: E402
from spandrel.architectures.SAFMN import SAFMN  # noqa: E402
from spandrel.architectures.SPAN import SPAN  # noqa: E402
from spandrel.architectures.SwinIR import SwinIR  # noqa: E402

from repro.data.loaders import open_dataset  # noqa: E402
from repro.errors import MissingWeightsError, ReproError, WeightsError  # noqa: E402
from repro.eval.predictor import load_model  # noqa: E402
from repro.eval.quick import dataset_job  # noqa: E402
from repro.eval.runner import evaluate  # noqa: E402
from repro.metrics import get_metric  # noqa: E402
from repro.models.tiling import tiled_forward  # noqa: E402
from repro.tables.run import run_table  # noqa: E402
from repro.tables.spec import parse_spec  # noqa: E402
from tests.test_weights_hub import put  # noqa: E402

# Tiny networks of the official classes (spandrel's copies): widths and depths cut down so a
# test takes well under a second; the keys and their shape rules are the official ones.
TINY = {
    "SwinIR": lambda s: SwinIR(
        img_size=16,
        embed_dim=12,
        depths=[2],
        num_heads=[2],
        window_size=8,
        mlp_ratio=2.0,
        upscale=s,
        upsampler="pixelshuffledirect",
    ),
    "HAT": lambda s: HAT(
        img_size=16,
        embed_dim=12,
        depths=(1,),
        num_heads=(2,),
        window_size=8,
        squeeze_factor=4,
        mlp_ratio=2.0,
        upscale=s,
        num_feat=16,
    ),
    "OmniSR": lambda s: OmniSR(num_feat=16, block_num=1, window_size=8, res_num=1, up_scale=s),
    "RCAN": lambda s: RCAN(scale=s, n_resgroups=1, n_resblocks=1, n_feats=16, reduction=4),
    "SPAN": lambda s: SPAN(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=s),
    "SAFMN": lambda s: SAFMN(dim=8, n_blocks=1, upscaling_factor=s),
    "ESRGAN": lambda s: ESRGAN(num_filters=8, num_blocks=1, scale=s),  # x2^n only
    "Compact": lambda s: Compact(num_feat=8, num_conv=2, upscale=s),
}
# the licence files of spandrel's architecture folders (chaiNNer-org/spandrel, __arch/LICENSE)
LICENCES = {
    "SwinIR": "Apache-2.0",
    "HAT": "MIT",
    "OmniSR": "Apache-2.0",
    "RCAN": "MIT",
    "SPAN": "Apache-2.0",
    "SAFMN": "Apache-2.0",
    "ESRGAN": "Apache-2.0",
    "Compact": "BSD-3-Clause",
}
CASES = [(a, s) for a in TINY for s in (2, 3, 4) if not (a == "ESRGAN" and s == 3)]


def tiny(arch: str, scale: int, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return TINY[arch](scale).eval()


def save(module: torch.nn.Module, path, fmt: str):
    """As releases ship them: BasicSR's nested .pth, or a flat safetensors file."""
    state = {k: v.contiguous() for k, v in module.state_dict().items()}
    path = path.with_suffix(f".{fmt}")
    if fmt == "pth":
        torch.save({"params_ema": state}, path)
    else:
        save_file(state, str(path))
    return path


def direct(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The network called directly, on a copy (RCAN scales its input in place)."""
    with torch.no_grad():
        return module(x.clone()).clamp(0, 1)


@pytest.mark.parametrize(("arch", "scale"), CASES)
def test_detection_scale_output_and_provenance(tmp_path, arch, scale):
    fmt = "pth" if scale % 2 == 0 else "safetensors"
    net = tiny(arch, scale)
    path = save(net, tmp_path / f"{arch}_x{scale}", fmt)
    module, prov = load_model(f"spandrel-{arch.lower()}", scale, weights_path=str(path))
    facts = prov["spandrel"]
    assert (facts["architecture"], facts["scale"]) == (arch, scale)
    assert facts["architecture_licence"] == LICENCES[arch]
    assert facts["version"] == spandrel.__version__ and facts["purpose"] == "SR"
    assert prov["weights"]["key"] == "params_ema" and len(prov["weights"]["sha256"]) == 64
    x = torch.rand(1, 3, 24, 32)  # meets every tiny net's size requirements: no padding
    with torch.inference_mode():
        out = module(x)
    assert out.shape == (1, 3, 24 * scale, 32 * scale)
    torch.testing.assert_close(out, direct(net, x), rtol=0, atol=0)


def test_size_requirements_are_met_by_padding_as_spandrel_does(tmp_path):
    """SAFMN wants multiples of 8: a 21x30 input is padded, run and cropped back."""
    net = tiny("SAFMN", 4)
    module, prov = load_model("spandrel", 4, weights_path=str(save(net, tmp_path / "s", "pth")))
    assert prov["spandrel"]["size_requirements"]["multiple_of"] == 8
    x = torch.rand(1, 3, 21, 30)
    padded = torch.nn.functional.pad(x, (0, 2, 0, 3), mode="reflect")  # to 24 x 32
    with torch.inference_mode():
        out = module(x)
    assert out.shape == (1, 3, 84, 120)
    torch.testing.assert_close(out, direct(net, padded)[..., :84, :120], rtol=0, atol=0)


def test_a_model_writing_into_its_input_leaves_the_callers_tensor_alone(tmp_path):
    """RCAN multiplies its input by 255 in place: tiles of one image would corrupt each other."""
    net = tiny("RCAN", 2)
    module, _ = load_model("spandrel", 2, weights_path=str(save(net, tmp_path / "r", "pth")))
    x = torch.rand(1, 3, 40, 40)
    kept = x.clone()
    with torch.inference_mode():
        tiled = tiled_forward(module, x, tile=24, overlap=4)
        expected = tiled_forward(lambda patch: direct(net, patch), x, scale=2, tile=24, overlap=4)
    assert torch.equal(x, kept)
    torch.testing.assert_close(tiled, expected, rtol=0, atol=0)


def _direct_psnr(net, data, scale: int, protocol: dict) -> list[float]:
    values = []
    for name in data.names:
        sample = data.load(name)
        lr = torch.from_numpy(sample.lr).permute(2, 0, 1)[None].float() / 255
        sr = direct(net, lr).mul(255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
        values.append(get_metric("psnr").fn(sr, sample.hr, **{**protocol, "crop": scale}))
    return values


@pytest.mark.parametrize(("arch", "scale"), [("SwinIR", 4), ("RCAN", 2)])
def test_eval_gives_the_numbers_of_the_network_called_directly(tmp_path, arch, scale):
    net = tiny(arch, scale, seed=3)
    path = save(net, tmp_path / arch, "safetensors")
    data = open_dataset("Set5", scale)
    data.limit(2)
    job = dataset_job("spandrel", scale, data, weights_path=str(path))
    rows, prov = evaluate(job, data, progress=False, use_cache=False)
    expected = _direct_psnr(net, data, scale, job.protocol)
    assert [r["psnr"] for r in rows] == pytest.approx(expected, abs=1e-9)
    assert all(math.isfinite(v) for v in expected)
    assert prov["model"]["spandrel"]["architecture"] == arch


SPEC = """\
id: zoo_table
title: "A spandrel checkpoint in a user's own table"
paper: "tests"
source: {note: "random weights: the reported PSNR is the network's own, computed directly"}
protocol: {version: 1, task: classic, channel: "y", crop: scale, lr: official, gray: rgb3,
           ssim: matlab}
tolerance: {psnr: 0.0001, params: 0}
columns:
  - {dataset: Set5, metric: psnr}
  - {metric: params}
rows:
  - {id: compact, label: "SRVGG (tiny) x3", model: spandrel-compact, scale: 3, reported: [REPORTED]}
"""


def test_a_spandrel_row_in_a_user_spec_runs_as_the_network_called_directly(tmp_path):
    net = tiny("Compact", 3, seed=4)
    path = save(net, tmp_path / "compact_x3", "pth")
    expected = float(np.mean(_direct_psnr(net, open_dataset("Set5", 3), 3, {"channel": "y"})))
    params = sum(p.numel() for p in net.parameters())
    spec_file = tmp_path / "zoo_table.yaml"
    spec_file.write_text(SPEC.replace("REPORTED", f"{expected:.4f}, {params}"))
    spec = parse_spec(spec_file)
    result = run_table(spec, weights={"compact": str(path)}, progress=False, use_cache=False)
    by_metric = {c.metric: c for c in result.cells}
    assert by_metric["psnr"].reproduced == pytest.approx(expected, abs=1e-9)
    assert by_metric["psnr"].status == "PASS" and by_metric["params"].reproduced == params

    # no checkpoint: params too cannot be counted (the checkpoint is the architecture), so the
    # run measures nothing and says which weights are missing
    with pytest.raises(MissingWeightsError, match=r"weights missing for SRVGG \(tiny\) x3"):
        run_table(spec, progress=False)


def test_weights_from_a_hub_address(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    net = tiny("Compact", 2)
    data = save(net, tmp_path / "c", "safetensors").read_bytes()
    rev = "89abcdef0123456789abcdef0123456789abcdef"
    put({"HF_HUB_CACHE": tmp_path / "hf"}, "someone/zoo", "x2/compact.safetensors", data, rev)
    url = f"hf://someone/zoo@{rev}/x2/compact.safetensors"
    module, prov = load_model("spandrel", 2, weights_path=url)
    assert prov["weights"]["url"] == url and prov["spandrel"]["architecture"] == "Compact"
    x = torch.rand(1, 3, 8, 8)
    with torch.inference_mode():
        torch.testing.assert_close(module(x), direct(net, x), rtol=0, atol=0)


def test_what_does_not_fit_is_one_line(tmp_path):
    swinir = save(tiny("SwinIR", 4), tmp_path / "swinir", "pth")
    cases = [
        (("spandrel", 2, swinir), r"\(SwinIR, x4\) upscales x4, but x2 was asked: pass --scale 4"),
        (("spandrel-hat", 4, swinir), r"\(SwinIR, x4\) is not a HAT checkpoint"),
    ]
    alien = tmp_path / "alien.pth"
    torch.save({"encoder.weight": torch.zeros(3, 3)}, alien)
    cases.append((("spandrel", 4, alien), "recognises no architecture in"))
    torch.manual_seed(0)
    gray = save(
        Compact(num_in_ch=1, num_out_ch=1, num_feat=8, num_conv=2, upscale=2),
        tmp_path / "gray",
        "pth",
    )
    cases.append((("spandrel", 2, gray), "maps 1 to 1 channels; only RGB"))
    broken = tiny("SPAN", 2)
    with torch.no_grad():
        next(broken.parameters())[0] = math.nan
    cases.append((("spandrel", 2, save(broken, tmp_path / "nan", "pth")), "non-finite"))
    for (model, scale, path), message in cases:
        with pytest.raises(WeightsError, match=message) as caught:
            load_model(model, scale, weights_path=str(path))
        assert "\n" not in str(caught.value)
    with pytest.raises(ReproError, match="drop --non-strict"):
        load_model("spandrel", 4, weights_path=str(swinir), strict=False)
    with pytest.raises(MissingWeightsError, match="pass --weights PATH"):
        load_model("spandrel", 4)
    with pytest.raises(ReproError, match="unknown spandrel architecture 'swinirr'; did you mean"):
        load_model("spandrel-swinirr", 4, weights_path=str(swinir))
