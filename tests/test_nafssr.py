"""NAFSSR: structure equals the official one, outputs equal the official golden vectors, TLSC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from repro.errors import DataError, WeightsError
from repro.models.nafssr.arch import NAFSSR, VARIANTS, build_nafssr, split_views
from repro.models.nafssr.tlsc import LocalAvgPool2d, local_avg_pool, tlsc_kernel
from repro.models.nafssr.weights import WEIGHTS
from repro.paths import shared_root
from repro.weights.checkpoint import load_strict, read_state_dict

GOLDEN = shared_root() / "golden"
needs_golden = pytest.mark.skipif(not GOLDEN.is_dir(), reason="shared/golden not available")

# /work/shared/reported/README.md (computed from the official architecture)
REPORTED_PARAMS = {
    ("t", 2): 445_068,
    ("s", 2): 1_538_572,
    ("b", 2): 6_765_324,
    ("l", 2): 23_790_604,
    ("t", 4): 460_656,
    ("s", 4): 1_559_344,
    ("b", 4): 6_796_464,
    ("l", 4): 23_832_112,
}
CASES = sorted(REPORTED_PARAMS)


def _meta_model(variant: str, scale: int, **kw) -> NAFSSR:
    with torch.device("meta"):  # structure only, no memory for NAFSSR-L's weights
        return build_nafssr(variant, scale, **kw)


def _golden(case: str) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    from safetensors.torch import load_file

    state = load_file(str(GOLDEN / "io" / f"{case}.safetensors"))
    return state, state.pop("__input__"), state.pop("__output__")


def _reference_pool(x: torch.Tensor, kernel: tuple[int, int]) -> torch.Tensor:
    """Independent TLSC pooling: stride-1 avg_pool2d, then replicate padding (floor before)."""
    h, w = x.shape[-2:]
    if kernel[0] >= h and kernel[1] >= w:
        return x.mean(dim=(-2, -1), keepdim=True)
    kh, kw = min(kernel[0], h), min(kernel[1], w)
    out = F.avg_pool2d(x.double(), (kh, kw), stride=1).float()
    dh, dw = h - out.shape[-2], w - out.shape[-1]
    return F.pad(out, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2), mode="replicate")


# ----------------------------------------------------------------------------- structure


@needs_golden
@pytest.mark.parametrize("variant,scale", CASES)
def test_signature_and_params(variant, scale):
    sig = json.loads(
        (GOLDEN / "signatures" / f"NAFSSR_{variant.upper()}_x{scale}.json").read_text()
    )
    model = _meta_model(variant, scale)
    ours = [
        [k, list(v.shape), str(v.dtype).removeprefix("torch.")]
        for k, v in model.state_dict().items()
    ]
    assert ours == sig["state_dict"]  # same keys, same order, same shapes, no buffers
    n = sum(p.numel() for p in model.parameters())
    assert n == sig["num_params"] == REPORTED_PARAMS[(variant, scale)]
    width, blocks = VARIANTS[variant]
    assert sig["constructor"] == {"up_scale": scale, "width": width, "num_blks": blocks}
    assert tuple(sig["tlsc"]["kernel_size_after_construction"]) == model.tlsc_kernel == (45, 135)
    pools = [m for m in model.modules() if isinstance(m, LocalAvgPool2d)]
    assert len(pools) == sig["tlsc"]["num_avgpool_modules"] == blocks


# ----------------------------------------------------------------------------- golden vectors


@needs_golden
@pytest.mark.parametrize("case,scale", [("NAFSSR_T_x4", 4), ("NAFSSR_T_x2", 2)])
def test_golden_output_with_tlsc(case, scale):
    state, x, expected = _golden(case)
    model = build_nafssr("t", scale).eval()
    load_strict(model, state, source=case)
    assert model.tlsc
    with torch.no_grad():
        out = model(x)
        assert out.shape == expected.shape == (1, 6, scale * x.shape[2], scale * x.shape[3])
        assert (out - expected).abs().max().item() < 1e-5
        # Global pooling (TLSC off) is not what the official test computes: the golden must see it.
        model.tlsc = False
        off = model(x)
    assert (off - expected).abs().max().item() > 2e-5


# ----------------------------------------------------------------------------- TLSC pooling


def test_tlsc_kernel_from_train_size():
    assert tlsc_kernel((1, 6, 30, 90)) == tlsc_kernel((30, 90)) == (45, 135)
    assert tlsc_kernel((32, 96)) == (48, 144)


@pytest.mark.parametrize(
    "hw,kernel",
    [
        ((64, 160), (45, 135)),  # local in both dimensions (the x2 golden case)
        ((32, 144), (45, 135)),  # H no larger than the kernel: full-height mean, local along W
        ((60, 100), (45, 135)),  # W no larger than the kernel: local along H only
        ((9, 13), (4, 6)),  # even kernels: uneven replicate padding (floor before, ceil after)
    ],
)
def test_local_pool_matches_reference(hw, kernel):
    g = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0, 3, hw[1]).expand(*hw)  # structure, so local != global
    x = torch.rand((2, 3, *hw), generator=g) + ramp
    out = local_avg_pool(x, kernel)
    assert out.shape == x.shape
    torch.testing.assert_close(out, _reference_pool(x, kernel), atol=2e-6, rtol=0)
    if hw[0] <= kernel[0]:  # that dimension is averaged over its full extent
        assert torch.equal(out, out[:, :, :1].expand_as(out))
    if hw[1] <= kernel[1]:
        assert torch.equal(out, out[..., :1].expand_as(out))


def test_local_pool_global_fallback():
    x = torch.rand(1, 4, 45, 135)  # no larger than the kernel in both dimensions
    out = local_avg_pool(x, (45, 135))
    assert out.shape == (1, 4, 1, 1)
    torch.testing.assert_close(out, x.mean(dim=(-2, -1), keepdim=True))


def _tiny(tlsc=True, **kw) -> NAFSSR:
    torch.manual_seed(0)
    model = NAFSSR(scale=2, width=8, num_blocks=2, tlsc=tlsc, train_size=(4, 6), **kw)
    with torch.no_grad():  # no identity branches (beta/gamma start at zero)
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model.eval()


def test_tlsc_switch_changes_model_output():
    model = _tiny()  # kernel (6, 9)
    x = torch.rand(1, 6, 12, 20)
    x[..., 10:] += 0.5  # brighter right part: local statistics differ from global ones
    with torch.no_grad():
        on = model(x)
        model.tlsc = False
        assert not model.tlsc
        off = model(x)
        small = torch.rand(1, 6, 5, 8)  # smaller than the kernel: global pooling either way
        off_small = model(small)
        model.tlsc = True
        on_small = model(small)
    assert (on - off).abs().max().item() > 1e-3
    assert torch.equal(on_small, off_small)
    assert not build_nafssr("t", 4, tlsc="false").tlsc  # string settings from --set work


# ----------------------------------------------------------------------------- forward, drop-path


def test_forward_shapes_and_split_views():
    model = _tiny()
    x = torch.rand(2, 6, 7, 11)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 6, 14, 22)
    left, right = split_views(y)
    assert left.shape == right.shape == (2, 3, 14, 22)
    assert torch.equal(torch.cat([left, right], 1), y)
    with pytest.raises(DataError, match="6 channels"):
        split_views(torch.rand(1, 3, 4, 4))
    with pytest.raises(DataError, match="N x 6 x H x W"):
        model(torch.rand(1, 3, 8, 8))


def test_drop_path_only_in_training():
    ref, dropped = _tiny(), _tiny(drop_path_rate=0.999999)
    x = torch.rand(1, 6, 8, 10)
    with torch.no_grad():
        assert torch.equal(ref(x), dropped(x))  # eval: identity wrapper
        dropped.train()
        skipped = dropped(x)  # training: (almost surely) every block skipped
        base = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        expected = torch.cat([dropped.up(dropped.intro(v)) for v in split_views(x)], 1) + base
    torch.testing.assert_close(skipped, expected)


# ----------------------------------------------------------------------------- weights


def test_strict_load_refuses_wrong_variant_or_scale():
    model = build_nafssr("t", 4)
    with pytest.raises(WeightsError, match=r"'intro\.weight' has shape \(64, 3, 3, 3\)"):
        load_strict(model, _meta_model("s", 4).state_dict())
    with pytest.raises(WeightsError, match=r"'up\.0\.weight' has shape \(12, 48, 3, 3\)"):
        load_strict(model, _meta_model("t", 2).state_dict())
    partial = {k: v for k, v in model.state_dict().items() if not k.startswith("body.3.")}
    with pytest.raises(WeightsError, match=r"missing key 'body\.3\.module\.blk\.beta'"):
        load_strict(model, partial)


def test_official_checkpoint_layout_loads(tmp_path: Path):
    src = _tiny()
    path = tmp_path / "NAFSSR-T_2x.pth"
    torch.save({"params": src.state_dict()}, path)
    dst = NAFSSR(scale=2, width=8, num_blocks=2, train_size=(4, 6))
    load_strict(dst, read_state_dict(path, key="params"))
    x = torch.rand(1, 6, 8, 8)
    with torch.no_grad():
        assert torch.equal(src(x), dst.eval()(x))


def test_registry_and_weights_entries(tmp_path, monkeypatch):
    from repro.models import build, get
    from repro.weights.fetch import pull

    assert set(WEIGHTS) == {f"nafssr-{v}-x{s}" for v in "tsbl" for s in (2, 4)}
    for v in "tsbl":
        info = get(f"nafssr-{v}")
        assert info.stereo and info.scales == (2, 4)
        for s in (2, 4):
            entry = info.weights[s]
            assert entry is WEIGHTS[f"nafssr-{v}-x{s}"]
            assert entry.filename == f"NAFSSR-{v.upper()}_{s}x.pth"
            assert entry.key == "params" and entry.urls == ()
            # NAFSSR-L's sha256 are known (from a copy's Git LFS pointers, source named)
            assert (entry.sha256 is None) == (v != "l")
            assert bool(entry.sha256_source) == bool(entry.sha256)
            assert "drive.google.com" in entry.source and "pan.baidu.com" in entry.source
    assert build("nafssr", "t", 2, tlsc=False).scale == 2
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("REPRO_WEIGHTS", str(tmp_path / "weights"))
    with pytest.raises(WeightsError, match=r"NAFSSR-T_4x\.pth.*drive\.google\.com.*--weights PATH"):
        pull(WEIGHTS["nafssr-t-x4"])
