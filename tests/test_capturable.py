"""Every family's forward is capturable (CUDA graphs, torch.compile), checked on the CPU.

Two proxies for a CUDA-graph capture, which needs a GPU:

- ``torch.compile(model, fullgraph=True, backend="eager")`` traces the whole forward with dynamo
  (no inductor, so it is cheap): a graph break (``.item()``, a host-side ``int(tensor)``, shapes
  that follow tensor values, an op dynamo cannot trace such as a draw from a private generator)
  raises under ``fullgraph=True``. The compiled output must equal the eager one exactly
  (official mode: for the same draws, made outside the graph with ``model.draw(x)``).
- The model on the ``meta`` device, its forward run under a dispatch mode that records every
  operator: with the model and its input on ``meta``, any tensor on the CPU is one the forward
  built on the host (a table from ``torch.tensor(list)``, a CPU ``linspace``/``arange``, which
  the old forward then copied to the GPU on every call), any cross-device ``_to_copy``/``copy_``
  is a host-device copy, and ``_local_scalar_dense`` is a value read back to the host
  (``.item()``, ``int(t)``, ``.tolist()``). None may occur. A forward that constructs a
  ``torch.Generator`` is caught by replacing the constructor while it runs.

Python scalars (``x * 2``) reach the operators as numbers, not CPU tensors, so they do not count.
"""

from __future__ import annotations

import json
import os

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

import repro.models.camixersr.mixer as camixer_mixer
from repro.errors import ReproError
from repro.models import build
from repro.models.camixersr.arch import CAMixerSR
from repro.models.camixersr.osr import CAMixerOSR
from repro.models.camixersr.routing import Routing
from repro.models.esc.arch import ESC, ESCFP
from repro.models.esc.variants import ESCConfig
from repro.models.nafssr.arch import NAFSSR
from repro.paths import shared_root
from repro.weights.checkpoint import load_strict

GOLDEN = shared_root() / "golden"


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    prev = torch.get_num_threads()
    torch.set_num_threads(min(prev, 2))
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()
    torch.set_num_threads(prev)


def _randomised(model: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Seeded random weights with no identity branch (zero-initialised offsets etc.)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    return model.eval()


def _camixer(mode: str, ratio: float, osr: bool = False) -> torch.nn.Module:
    torch.manual_seed(0)
    if osr:  # two blocks: one plain, one with shifted windows
        m = CAMixerOSR((2,), 1, 3, 24, 2, ratio, mode, 0)
    else:
        m = CAMixerSR((1, 1), 2, 3, 24, 2, ratio, mode, 0)
    return _randomised(m)


def _x(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(2))


def _compiled(model: torch.nn.Module):
    return torch.compile(model, fullgraph=True, backend="eager")


# ------------------------------------------------------------------------------------------
# dynamo traces the whole forward; compiled == eager
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ratio", [1.0, 0.25])
def test_camixersr_deterministic_compiles_whole_and_equals_eager(ratio):
    m = _camixer("deterministic", ratio)
    x = _x(1, 3, 64, 80)  # 20 windows
    with torch.no_grad():
        ref = m(x)
        assert torch.equal(_compiled(m)(x), ref)


def test_camixerosr_deterministic_compiled_first_equals_eager():
    """Compiled before any eager call, in float64 (keys no other test fills): the tables the
    trace asked for (window grid, latitude column, mean) were built for real and are reused."""
    m = _camixer("deterministic", 0.5, osr=True).double()
    x = _x(1, 3, 40, 56).double()
    with torch.no_grad():
        out = _compiled(m)(x)
        assert torch.equal(m(x), out)


@pytest.mark.parametrize(
    "ratio,osr", [(1.0, False), (0.5, False), (0.25, False), (0.5, True)], ids=str
)
def test_camixer_official_compiles_whole_with_outside_draws(ratio, osr):
    """The draws come from outside the graph; traced, the drawn count masks a static number of
    windows (the largest the draw allows: all 20 at gamma 0.5, 11 at 0.25) and the output is
    the eager one exactly."""
    m = _camixer("official", ratio, osr)
    x = _x(2, 3, 64, 80)
    with torch.no_grad():
        ref = m(x)  # seed 0: the private generator is reset before the draws of every call
        draws = m.draw(x)  # the same numbers
        assert draws.shape == (2, 2, 20, 2)  # blocks x batch x windows x 2
        assert torch.equal(_compiled(m)(x, draws=draws), ref)
        log = m.selection_log()  # read back outside the forward
    if ratio < 1:
        assert any(0 < e["num_keep"] < e["windows"] for e in log)
        assert all(len(e["attended"][0]) == e["num_keep"] for e in log)


def test_camixer_official_global_rng_compiles_without_draws():
    """seed None draws from the global RNG, which dynamo traces: the same stream either way."""
    m = _camixer("official", 0.5)
    m.seed = None
    x = _x(1, 3, 48, 64)
    with torch.no_grad():
        torch.manual_seed(5)
        ref = m(x)
        torch.manual_seed(5)
        out = _compiled(m)(x)
    assert torch.equal(out, ref)


@pytest.mark.skipif(not GOLDEN.is_dir(), reason="shared/golden not present")
@pytest.mark.skipif(os.environ.get("REPRO_SLOW") != "1", reason="20 blocks to trace: REPRO_SLOW=1")
def test_camixersr_s_golden_official_compiled_equals_eager():
    """The real CAMixerSR-S at gamma 0.5, official mode seed 0, on the golden input."""
    from safetensors.torch import load_file

    tensors = load_file(str(GOLDEN / "io" / "CAMixerSR_S_x4_ratio1.safetensors"))
    side = json.loads((GOLDEN / "io" / "CAMixerSR_S_x4_ratio1.json").read_text())
    m = build("camixersr", "s", 4, ratio=0.5, mode="official", seed=0)
    load_strict(m, {k: v for k, v in tensors.items() if not k.startswith("__")})
    x = tensors["__input__"]
    with torch.no_grad():
        out = _compiled(m)(x, draws=m.draw(x))
    assert torch.equal(out, m(x))
    assert (out - tensors["__output_ratio05_seed0__"]).abs().max().item() < 1e-5
    expected = side["ratio05"]["per_block_selection_seed0"]
    assert [e["num_keep"] for e in m.selection_log()] == [e["num_keep"] for e in expected]


@pytest.mark.parametrize("kind", ["esc", "fp"])
def test_esc_sdpa_compiles_whole_and_equals_eager(kind):
    """ESC and ESC-FP (one block of the same code) with the sdpa backend; flex compiles its
    own kernel with torch.compile and is not traced here."""
    cls = {"esc": ESC, "fp": ESCFP}[kind]
    torch.manual_seed(0)
    m = _randomised(cls(ESCConfig(kind, 16, 8, 5, 1, 2, 8, 2, 1.25, 2), backend="sdpa"))
    x = _x(1, 3, 20, 28)  # padded to 24 x 32 by the window attention
    with torch.no_grad():
        ref = m(x)
        assert torch.equal(_compiled(m)(x), ref)


def test_nafssr_compiles_whole_and_equals_eager():
    """Two stereo blocks, TLSC local pooling (kernel 6 x 9 from a 4 x 6 training patch)."""
    torch.manual_seed(0)
    m = _randomised(NAFSSR(scale=2, width=8, num_blocks=2, train_size=(4, 6)))
    x = _x(1, 6, 20, 28)
    with torch.no_grad():
        ref = m(x)
        assert torch.equal(_compiled(m)(x), ref)


# ------------------------------------------------------------------------------------------
# no host tables, host syncs, host-device copies or generators inside a forward
# ------------------------------------------------------------------------------------------
class _HostTraffic(TorchDispatchMode):
    """Records operators that touch a CPU tensor, cross devices or read a value back."""

    def __init__(self):
        super().__init__()
        self.events: list[str] = []
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.ops.append(str(func))
        tensors = [t for t in tree_leaves((args, kwargs, out)) if isinstance(t, torch.Tensor)]
        if func is torch.ops.aten._local_scalar_dense.default:
            self.events.append(f"{func}: a value read back to the host")
        elif any(t.device.type == "cpu" for t in tensors):
            self.events.append(f"{func}: a CPU tensor")
        elif len({t.device for t in tensors}) > 1:
            self.events.append(f"{func}: crosses devices")
        return out


def _on_meta(model: torch.nn.Module, *inputs, **kwargs) -> _HostTraffic:
    with torch.no_grad(), _HostTraffic() as rec:
        model(*inputs, **kwargs)
    return rec


def _meta_cases():
    for osr in (False, True):
        for mode, ratio in (("deterministic", 0.5), ("deterministic", 1.0), ("official", 0.5)):
            yield pytest.param(osr, mode, ratio, id=f"{'osr' if osr else 'sr'}-{mode}-{ratio}")


@pytest.mark.parametrize("osr,mode,ratio", _meta_cases())
def test_camixer_forward_is_device_only(monkeypatch, osr, mode, ratio):
    """On meta, with the official draws made outside and the official count kept on the device
    (the path a traced or captured forward takes), the forward is device-only, twice over; the
    second call builds no table (window grid: linspace; latitude map: cos)."""
    monkeypatch.setattr(camixer_mixer, "static_shapes", lambda t: True)
    m = _camixer(mode, ratio, osr).to("meta")
    x = torch.empty(1, 3, 40, 56, device="meta")  # padded to 48 x 64: 12 windows
    draws = torch.empty(2, 1, 12, 2, device="meta") if mode == "official" else None
    first = _on_meta(m, x, draws=draws)
    again = _on_meta(m, x, draws=draws)
    assert first.events == [] and again.events == []
    assert not {"aten.linspace.default", "aten.cos.default"} & set(again.ops)


def test_camixer_official_eager_reads_the_count_back_once_per_block():
    """Outside tracing and capture the official path reads the drawn count back, to gather only
    the kept windows: one value per block, nothing else (the Gumbel count stays a tensor)."""
    m = _camixer("official", 0.5)
    rec = _on_meta(m, _x(1, 3, 48, 64))  # (on the CPU: only the read-backs are counted)
    assert rec.ops.count("aten._local_scalar_dense.default") == 2


@pytest.mark.parametrize(
    "family,variant,channels", [("esc", "light", 3), ("nafssr", "t", 6)], ids=["esc", "nafssr"]
)
def test_esc_nafssr_forward_is_device_only(family, variant, channels):
    settings = {"backend": "sdpa"} if family == "esc" else {}
    m = build(family, variant, 2, **settings).eval().to("meta")
    x = torch.empty(1, channels, 40, 56, device="meta")
    assert _on_meta(m, x).events == []
    assert _on_meta(m, x).events == []


def test_camixer_forward_constructs_no_generator(monkeypatch):
    """The official mode's private generator is made with the model (and remade where the model
    moves), never by a forward: a CUDA generator cannot be constructed during capture."""
    m = _camixer("official", 0.5)
    x = _x(1, 3, 48, 64)
    made = []
    real = torch.Generator

    def recording(*args, **kwargs):
        made.append(args or kwargs)
        return real(*args, **kwargs)

    with torch.no_grad():
        ref = m(x)
        monkeypatch.setattr(torch, "Generator", recording)
        assert torch.equal(m(x), ref)  # reseeded to 0, not rebuilt
        with m.rng_session():
            assert torch.equal(m(x), ref)
        monkeypatch.undo()
    assert made == []
    gen = m._generator
    m.double().float()  # same device: the same generator
    assert m._generator is gen


def test_draws_are_checked():
    m = _camixer("official", 0.5)
    x = _x(1, 3, 48, 64)
    with pytest.raises(ReproError, match=r"draws must have shape \(2, 1, 12, 2\)"):
        m(x, draws=torch.rand(2, 1, 6, 2))
    m.mode = "deterministic"
    assert m.draw(x) is None


@pytest.mark.parametrize("osr_rule", [False, True])
def test_static_bound_covers_every_drawn_count(osr_rule):
    """The static window count of a traced official forward is never below the drawn one (the
    drawn count is largest when every window picks class 0)."""
    share = torch.ones(1)
    for ratio in (0.0, 0.1, 0.25, 1 / 3, 0.5, 0.7, 0.9):
        r = Routing(ratio=ratio, osr_rule=osr_rule)
        for n in range(1, 700):
            assert r.keep_bound(n) >= int(r.drawn_keep(n, share)), (ratio, n)
            assert r.keep_bound(n) <= n
