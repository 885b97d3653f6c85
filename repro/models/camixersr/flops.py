"""FLOPs of CAMixerSR in the two conventions of the paper (seed 001), and the family's
complexity counter for the tables (:func:`complexity`: MAdds, FLOPs, latency ratio).

``convention="fvcore"`` (seed 001 Table 1 "#MAdds" and Table 3; the lightweight-SR table)
    What fvcore's ``FlopCountAnalysis`` reports (one "flop" per multiply-add) for the official
    model on the LR input of a 1280x720 output (320x180 at x4, 640x360 at x2), which the model
    reflect-pads to 320x192 / 640x368, i.e. N = 240 / 920 windows of 16x16. Every block attends
    the nominal ``floor(N * gamma + 0.5)`` windows (deterministic mode; 120 / 60 at x4), and the
    count follows the official dataflow (``Routing.dense_reference``): the window scores, the
    spatial-attention conv and the full-map key warp are computed at every gamma, as in the
    official code. Counted (fvcore's default handles): convolutions and linear layers (bias
    excluded), the two attention matmuls of each attended window (``aten::matmul``, 2 x 256^2 x C
    multiply-adds), the adaptive average pool (1 per input element) and ``grid_sample`` (4 per
    output element). Not counted (no handle): the hand-written layer norms, softmax, GELU,
    sigmoid/tanh, element-wise products and sums, pixel shuffle, padding, sort and gather.
    Result for CAMixerSR-B: x4 77.92G / 54.62G / 42.97G and x2 294.12G / 204.81G / 160.16G at
    gamma 1 / 0.5 / 0.25 (paper 77.9G / 53.8G / 43.0G and 294.1G / 205.2G / 160.7G). The paper's
    x4 gamma-0.5 number is 1.5 % lower: it corresponds to ~116 attended windows per block instead
    of 120, i.e. a count drawn by the official eval path (Gumbel sampling), not the nominal one.
``convention="official"`` (seed 001 Table 2 "#FLOPs" of CAMixerSR-S/M/B on F2K ... Test8K)
    The arithmetic of the official ``CAMixerSR.flops()`` method on an LR patch (32x32 for the
    table): 2 x the multiply-adds of the convolutions and linear layers (q/k projections scaled
    by gamma), plus the attention matmuls of ``int(Np * gamma / 256)`` windows at 2 x 256^2 x C
    each (multiply-adds of both matmuls, not doubled), plus the official predictor terms, with
    the official formula's quirks kept (global predictor as 8 x (C + 2) x 9 x 2 per pixel).
    Result: S 895.3M / 653.5M / 532.5M / 411.6M at gamma 1 / 0.5 / 0.25 / 0 (paper 894M / 652M /
    532M / 410M), M 1.380G / 1.034G / 860.6M / 687.6M, B 1.957G / 1.495G / 1.264G / 1.033G.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn

from repro.errors import NotRun, NotRunCode, ReproError
from repro.metrics.sampled import Sampled, by_definition
from repro.models.camixersr.arch import CAMixerSR
from repro.models.camixersr.profile import COMPONENTS, runtime_shares
from repro.models.timing import LatencySetting, check_runnable, latency_setting, measure_ratio

CONVENTIONS = ("fvcore", "official")


def _official_flops(model: nn.Module, h: int, w: int) -> float:
    """The official ``flops()`` arithmetic (numbers and rounding as in the official method)."""
    if not isinstance(model, CAMixerSR):
        raise ReproError("the 'official' FLOPs convention exists for CAMixerSR (S/M/B) only")
    c = model.n_feats
    s = model.scale
    ws = model.window_size
    ratio = model.ratio
    n_blocks = sum(model.n_block)
    n_groups = len(model.n_block)
    total = 0
    total += h * w * 3 * c * 9 * 2  # head
    total += h * w * 8 * (c + 2) * 9 * 2  # global predictor (official formula)
    # CAMixer.calculate_flops, once per block
    cdim = c + 4
    mixer = 0
    mixer += h * w * cdim * cdim // 4 * 2
    mixer += h * w * cdim // 4 * (2 + 1) * 2
    mixer += h * w * cdim // 4 * 2 * 2
    nwin = math.ceil(h / ws) * math.ceil(w / ws)
    mixer += nwin * ws**2 * ws * 2
    mixer += nwin * ws * 2 * ws * 2
    mixer += h * w * c * c * 2
    mixer += 2 * h * w * c * c * 2 * ratio
    hp = ws * math.ceil(h / ws)
    wp = ws * math.ceil(w / ws)
    n_attn = int(hp * wp * ratio / ws / ws)
    mixer += n_attn * 2 * (ws * ws) ** 2 * c
    mixer += 2 * h * w * c * 9 * 2
    mixer += h * w * c * c * 2
    # GatedFeedForward.calculate_flops, once per block
    ffn = h * w * c * 2 * c * 2 + h * w * 2 * c * 9 * 2 + h * w * c * c * 2
    total += n_blocks * (mixer + ffn)
    total += n_groups * h * w * c * c * 2  # Group.calculate_flops (1x1 group tail)
    total += h * w * c * c * 9 * 2  # body tail
    total += h * w * c * s**2 * 3 * 9 * 2  # tail
    return float(total)


@contextlib.contextmanager
def _nominal(model: nn.Module):
    """Deterministic window counts and the official dataflow, for the duration of a count."""
    routing = model.routing
    prev = (routing.mode, routing.dense_reference)
    routing.mode, routing.dense_reference = "deterministic", True
    try:
        yield
    finally:
        routing.mode, routing.dense_reference = prev


def nominal_windows(n: int, ratio: float) -> int:
    """The attended windows per block in the fvcore convention (deterministic-mode rule)."""
    return max(0, min(n, int(math.floor(n * ratio + 0.5))))


def fvcore_counts(model: nn.Module, lr_hw: tuple[int, int]):
    """fvcore on a real forward: (total, per-operator dict, unsupported-operator dict).

    The model runs in deterministic mode with the official dataflow (``dense_reference``), so
    the count is the one of the official model with the nominal number of attended windows.
    """
    from fvcore.nn import FlopCountAnalysis

    h, w = lr_hw
    x = torch.rand((1, 3, h, w), generator=torch.Generator().manual_seed(0))
    x = x.to(next(model.parameters()).device)
    was_training = model.training
    model.eval()
    try:
        with _nominal(model), torch.no_grad():
            fca = FlopCountAnalysis(model, x)
            fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            fca.tracer_warnings("none")
            total = fca.total()
            by_op = dict(fca.by_operator())
            unsupported = dict(fca.unsupported_ops())
    finally:
        model.train(was_training)
    return float(total), by_op, unsupported


def fvcore_formula(model: nn.Module, lr_hw: tuple[int, int], windows: int | None = None) -> dict:
    """What fvcore counts on CAMixerSR (official dataflow), in closed form, per operator.

    ``windows`` overrides the attended windows per block (default: the nominal count). Checked
    against :func:`fvcore_counts` in the tests; exact for CAMixerSR S/M/B.
    """
    if not isinstance(model, CAMixerSR):
        raise ReproError("the closed-form fvcore count exists for CAMixerSR (S/M/B) only")
    ws = model.window_size
    hp = ws * math.ceil(lr_hw[0] / ws)
    wp = ws * math.ceil(lr_hw[1] / ws)
    p = hp * wp
    n = p // (ws * ws)
    k = nominal_windows(n, model.ratio) if windows is None else int(windows)
    c, s = model.n_feats, model.scale
    cdim = c + 4
    c4, c8 = cdim // 4, cdim // 8
    conv = linear = matmul = pool = grid = 0
    conv += c * 3 * 9 * p + 8 * c * p + 2 * 8 * 9 * p  # head, global predictor
    per_conv = (
        c * c * p  # project_v
        + c4 * cdim * p  # route.in_conv
        + c8 * c4 * p
        + 2 * c8 * p  # route.out_offsets
        + c * c4  # route.out_CA conv on the pooled vector
        + c4 * 9 * p  # route.out_SA
        + 2 * c * 9 * p  # conv_sptial (two depth-wise 3x3)
        + c * c * p  # project_out
        + 2 * c * c * p
        + 2 * c * 9 * p
        + c * c * p  # ffn
    )
    blocks = sum(model.n_block)
    conv += blocks * per_conv
    conv += len(model.n_block) * c * c * p + c * c * 9 * p + 3 * s * s * c * 9 * p
    pool += blocks * c4 * p
    grid += blocks * 4 * c * p  # fvcore: 4 per output element of grid_sample (full-map warp)
    linear += blocks * (n * (ws * ws * ws + ws * 2) + 2 * k * ws * ws * c * c)
    matmul += blocks * 2 * k * (ws * ws) ** 2 * c
    return {
        "conv": conv,
        "linear": linear,
        "matmul": matmul,
        "adaptive_avg_pool2d": pool,
        "grid_sampler": grid,
        "total": conv + linear + matmul + pool + grid,
        "windows": n,
        "attended": k,
    }


def camixersr_flops(
    model: nn.Module,
    lr_hw: tuple[int, int],
    convention: str = "fvcore",
    method: str = "formula",
) -> float:
    """FLOPs of ``model`` at its current gamma for an LR input of ``lr_hw`` = (H, W).

    ``convention="fvcore"``: multiply-adds as fvcore counts them on the official dataflow with the
    nominal number of attended windows (the paper's "MAdds": 77.9G for CAMixerSR-B x4, gamma 1,
    lr_hw=(180, 320)); ``method="formula"`` (closed form, instant, CAMixerSR only) or
    ``method="trace"`` (run fvcore; any model of this module, e.g. CAMixerOSR).
    ``convention="official"``: the official ``flops()`` method (the paper's Table 2 "#FLOPs" use
    lr_hw=(32, 32)).
    """
    if convention not in CONVENTIONS:
        raise ReproError(f"unknown FLOPs convention {convention!r}; use one of {CONVENTIONS}")
    h, w = (int(v) for v in lr_hw)
    if convention == "official":
        return _official_flops(model, h, w)
    if method == "formula":
        return float(fvcore_formula(model, (h, w))["total"])
    if method == "trace":
        return fvcore_counts(model, (h, w))[0]
    raise ReproError(f"unknown FLOPs method {method!r}; use 'formula' or 'trace'")


def lr_size_for_output(out_hw: tuple[int, int], scale: int) -> tuple[int, int]:
    """LR size for an output size ("1280x720" -> (180, 320) at x4); ceil where not divisible."""
    return (math.ceil(out_hw[0] / scale), math.ceil(out_hw[1] / scale))


def complexity(
    metric: str,
    model: nn.Module,
    *,
    scale: int,
    protocol: Mapping[str, Any],
    variant: str | None,
) -> float | Sampled:
    """Table counter, in G: ``madds`` by fvcore's count for the protocol's output size (Tables
    1/3), ``flops`` by the official ``flops()`` method on the protocol's LR patch (Table 2);
    ``latency_ratio`` (no unit) as :func:`latency_ratio`; ``share_<component>`` (%) as
    :func:`repro.models.camixersr.profile.runtime_shares`."""
    if metric == "madds":
        width, height = protocol.get("flops_output", (1280, 720))
        lr_hw = lr_size_for_output((height, width), scale)
        return camixersr_flops(model, lr_hw, convention="fvcore") / 1e9
    if metric == "flops":
        lr_hw = tuple(protocol.get("flops_lr_input", (32, 32)))
        return camixersr_flops(model, lr_hw, convention="official") / 1e9
    if metric == "latency_ratio":
        return latency_ratio(model, latency_setting(protocol, variant), scale=scale)
    if metric.startswith("share_") and metric[6:] in COMPONENTS:
        return runtime_shares(model, latency_setting(protocol, variant), scale=scale)[metric[6:]]
    raise NotRun(NotRunCode.NOT_IMPLEMENTED, f"no '{metric}' counter for CAMixerSR")


def latency_ratio(model: nn.Module, setting: LatencySetting, *, scale: int) -> Sampled:
    """Latency at the model's gamma over latency at gamma 1, same input, same process, timed in
    alternation under the column's latency setting (:func:`repro.models.timing.measure_ratio`);
    the window count, not the weights' values, decides the time. At gamma 1 the ratio is 1 by
    definition and nothing is timed."""
    check_runnable(setting, "latency_ratio")
    ratio = model.ratio
    if ratio == 1.0:  # the reference timed against itself: only noise to measure
        return by_definition(1.0, "γ=1 is the ratio's reference: 1 by definition, not timed")
    try:
        return measure_ratio(
            model,
            setting,
            reference=lambda m: m.set_ratio(1.0),
            measured=lambda m: m.set_ratio(ratio),
            scale=scale,
        )
    finally:
        model.set_ratio(ratio)
