"""ESC: official structure (keys, shapes, counts), golden outputs, attention backends, batches,
padding, FLOPs. Real-size models only where the golden files need them; the rest uses tiny
configurations of the same code so the file runs in well under a minute on 2 CPU threads.

Set REPRO_SLOW=1 to also run the compiled FlexAttention test (torch.compile: ~10-20 s).
"""

from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors.torch import load_file

from repro.errors import ReproError
from repro.models.esc.arch import ESC, ESCFP, ESCReal, build_esc, count_params
from repro.models.esc.attention import resolve_backend, window_attention
from repro.models.esc.flops import esc_flops, model_flops
from repro.models.esc.variants import ESCConfig, config
from repro.models.esc.weights import RELEASE_URL, WEIGHTS
from repro.models.registry import get
from repro.paths import shared_root
from repro.weights.checkpoint import load_strict

GOLDEN = shared_root() / "golden"
SIGNATURES = {
    f"ESC_{name}_x{s}": (variant, s)
    for name, variant in (("FP", "fp"), ("light", "light"), ("base", "base"))
    for s in (2, 3, 4)
} | {"ESC_Real_x4": ("real", 4)}

# /work/shared/reported/README.md ("Parameter counts of the official architectures")
REPORTED_PARAMS = {
    "fp": (523_675, 530_170, 539_263),
    "light": (603_600, 612_255, 624_372),
    "base": (946_728, 955_383, 967_500),
    "xl": (12_455_916, 12_481_851, 12_518_160),
}

# reported/figs/esc_MainDIV2K.png, #FLOPs (G) column, ESC-FP / ESC-lt / ESC rows
PAPER_FLOPS = {
    ("esc-fp", 2): 239.8,
    ("esc-light", 2): 359.4,
    ("esc", 2): 592.0,
    ("esc-fp", 3): 110.0,
    ("esc-light", 3): 162.8,
    ("esc", 3): 267.6,
    ("esc-fp", 4): 60.8,
    ("esc-light", 4): 91.0,
    ("esc", 4): 149.2,
}


@pytest.fixture(autouse=True)
def _two_threads():
    n = torch.get_num_threads()
    torch.set_num_threads(min(n, 2))
    yield
    torch.set_num_threads(n)


def tiny(kind: str, scale: int = 2, window: int = 8) -> ESCConfig:
    return ESCConfig(kind, 16, 8, 5, 1, 2, window, 2, 1.25, upscaling_factor=scale)


def _tiny_model(kind: str, backend: str = "matmul", scale: int | None = None) -> torch.nn.Module:
    cls = {"esc": ESC, "fp": ESCFP, "real": ESCReal}[kind]
    scale = scale or (4 if kind == "real" else 2)
    torch.manual_seed(0)
    model = cls(tiny(kind, scale), backend=backend).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # no branch is an identity (zero-initialised dynamic kernels etc.)
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    return model


# ------------------------------------------------------------------------------- structure
@pytest.mark.parametrize("case", sorted(SIGNATURES))
def test_state_dict_matches_official_signature(case):
    sig = json.loads((GOLDEN / "signatures" / f"{case}.json").read_text())
    variant, scale = SIGNATURES[case]
    cfg = config(variant, scale).official_kwargs()
    for key, value in sig["constructor"].items():
        if key != "attn_type":
            assert cfg[key] == value, (case, key)
    with torch.device("meta"):
        model = build_esc(variant, scale, backend="matmul")
    ours = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    assert ours == [[k, shape] for k, shape, _ in sig["state_dict"]]
    assert sum(p.numel() for p in model.parameters()) == sig["num_params"]
    assert not list(model.buffers())


@pytest.mark.parametrize("variant", sorted(REPORTED_PARAMS))
def test_param_counts_match_reported(variant):
    for scale, expected in zip((2, 3, 4), REPORTED_PARAMS[variant], strict=True):
        assert count_params(variant, scale) == expected
    assert count_params("real", 4) == 2_265_307


def test_registry_and_weights():
    ids = {"esc-fp", "esc-light", "esc", "esc-xl", "esc-real"}
    for mid in ids:
        info = get(mid)
        assert info.family == "esc" and "backend" in info.settings
        for s, entry in info.weights.items():
            assert entry.key == "params_ema"
            # only ESC-Real's release asset has a published sha256 (with its source named)
            assert (entry.sha256 is None) == (entry.id != "esc-real-x4")
            assert bool(entry.sha256_source) == bool(entry.sha256)
            assert entry.urls == (RELEASE_URL + entry.filename,)
            assert s in info.scales
    assert get("esc-real").scales == (4,)
    assert get("esc").weights[3].filename == "ESC_DIV2K_X3.pth"
    assert WEIGHTS["esc-x2-dflip"].filename == "ESC_DFLIP_X2.pth"
    assert WEIGHTS["esc-xl-x4"].filename == "ESC_XL_DF2K_X4_FT.pth"
    assert WEIGHTS["esc-real-x4"].filename == "ESC_Real_X4_GAN.pth"
    assert len(WEIGHTS) == 16
    with pytest.raises(ReproError):
        build_esc("base", 2, backend="cuda-magic")


# ---------------------------------------------------------------------------------- golden
@pytest.mark.parametrize(
    "case,variant,scale",
    [("ESC_light_x4", "light", 4), ("ESC_FP_x3", "fp", 3), ("ESC_base_x2", "base", 2)],
)
def test_golden_outputs(case, variant, scale):
    """Default CPU backend (sdpa; the golden files used the official matmul path)."""
    data = load_file(str(GOLDEN / "io" / f"{case}.safetensors"))
    state = {k: v for k, v in data.items() if not k.startswith("__")}
    model = build_esc(variant, scale).eval()
    assert resolve_backend(model.backend, "cpu") == "sdpa"
    load_strict(model, state, case)
    with torch.no_grad():
        for suffix in ("", "2"):
            if f"__input{suffix}__" not in data:
                continue
            x = data[f"__input{suffix}__"]
            out = model(x)
            ref = data[f"__output{suffix}__"]
            assert out.shape == ref.shape == (1, 3, x.shape[2] * scale, x.shape[3] * scale)
            assert (out - ref).abs().max().item() <= 1e-5, (case, suffix)


def test_golden_matmul_backend():
    data = load_file(str(GOLDEN / "io" / "ESC_light_x4.safetensors"))
    model = build_esc("light", 4, backend="matmul").eval()
    load_strict(model, {k: v for k, v in data.items() if not k.startswith("__")})
    with torch.no_grad():
        out = model(data["__input2__"])  # 40x52: padded to 64x64 inside every attention
    assert (out - data["__output2__"]).abs().max().item() <= 1e-5


# -------------------------------------------------------------------------------- backends
@pytest.mark.parametrize("kind", ["esc", "fp"])
def test_backends_agree(kind):
    model = _tiny_model(kind)
    x = torch.rand(1, 3, 13, 19, generator=torch.Generator().manual_seed(3))
    outs = {}
    with torch.no_grad():
        for backend in ("matmul", "sdpa", "flex-eager"):
            model.set_backend(backend)
            outs[backend] = model(x)
    for backend in ("sdpa", "flex-eager"):
        assert (outs[backend] - outs["matmul"]).abs().max().item() <= 1e-5, backend


def test_attention_backends_real_window():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, 32 * 32, 16, generator=g) for _ in range(3))
    table = torch.randn(4, 63 * 63, generator=g)
    ref = window_attention(q, k, v, table, 32, "matmul")
    out = window_attention(q, k, v, table, 32, "sdpa")
    assert (out - ref).abs().max().item() <= 1e-5


@pytest.mark.skipif(os.environ.get("REPRO_SLOW") != "1", reason="torch.compile: set REPRO_SLOW=1")
def test_compiled_flex_backend():
    model = _tiny_model("esc")
    x = torch.rand(1, 3, 13, 19, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ref = model.set_backend("matmul")(x)
        out = model.set_backend("flex")(x)
    assert (out - ref).abs().max().item() <= 1e-5


def test_auto_backend():
    assert resolve_backend("auto", "cpu") == "sdpa"
    assert resolve_backend("matmul", "cpu") == "matmul"
    assert build_esc("light", 2).backend == "auto"
    with pytest.raises(ReproError):
        resolve_backend("fast", "cpu")


# ------------------------------------------------------------------------ batches, padding
@pytest.mark.parametrize("kind", ["esc", "fp", "real"])
def test_batch_equals_single(kind):
    model = _tiny_model(kind, backend="sdpa")
    g = torch.Generator().manual_seed(4)
    x = torch.rand(2, 3, 12, 17, generator=g)
    with torch.no_grad():
        both = model(x)
        single = torch.cat([model(x[:1]), model(x[1:])])
    s = model.scale
    assert both.shape == (2, 3, 12 * s, 17 * s)
    assert (both - single).abs().max().item() <= 1e-5


def test_padding_crop_and_small_inputs():
    model = _tiny_model("esc")  # window 8: needs >= 5 px
    with torch.no_grad():
        x = torch.rand(1, 3, 5, 9)
        assert model(x).shape == (1, 3, 10, 18)
        # each window attention reflect-pads (bottom/right) to a multiple of the window and
        # crops back: equal to running it on the padded map and cropping
        attn = model.blocks[0].attn
        f = torch.rand(1, 16, 11, 21)
        padded = torch.nn.functional.pad(f, (0, 3, 0, 5), mode="reflect")
        assert torch.equal(attn(f), attn(padded)[:, :, :11, :21])
        for bad in ((1, 3, 4, 9), (1, 3, 9, 4)):
            with pytest.raises(ReproError, match="too small"):
                model(torch.rand(bad))
        with pytest.raises(ReproError):
            model(torch.rand(1, 1, 16, 16))
        with pytest.raises(ReproError):
            model((torch.rand(1, 3, 16, 16) * 255).to(torch.uint8))
    real = build_esc("light", 2, backend="matmul").eval()  # window 32: official fails < 17
    with torch.no_grad(), pytest.raises(ReproError, match="at least 17x17"):
        real(torch.rand(1, 3, 16, 40))


# ----------------------------------------------------------------------------------- FLOPs
def test_flops_match_paper():
    for (mid, scale), paper in PAPER_FLOPS.items():
        ours = esc_flops(mid, scale)
        assert abs(ours - paper) / paper < 0.02, (mid, scale, ours, paper)
        assert abs(ours - paper) / paper < 0.002  # in fact within 0.1 %


@pytest.mark.parametrize("kind", ["esc", "fp"])
def test_flops_meta_equals_fvcore(kind):
    cfg = tiny(kind)
    cls = {"esc": ESC, "fp": ESCFP}[kind]
    with torch.device("meta"):
        meta_model = cls(cfg, backend="matmul")
    meta = model_flops(meta_model, (13, 19), "meta")
    fv_sdpa = model_flops(cls(cfg, backend="sdpa"), (13, 19), "fvcore")
    fv_matmul = model_flops(cls(cfg, backend="matmul"), (13, 19), "fvcore")
    assert meta == fv_sdpa == fv_matmul > 0
