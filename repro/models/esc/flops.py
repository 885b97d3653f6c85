"""FLOPs and parameters of ESC as the paper counts them, and the family's table counter.

Protocol (dslisleedh/ESC, ``__main__`` of ``esc/archs/esc_arch.py``): fvcore
``FlopCountAnalysis(model, x).total()`` with ``x`` of shape ``1 x 3 x 720//s x 1280//s`` (an
output of 1280x720, "HD"; x3 -> 240x426), the attention run through the plain "Naive" path
("For FLOPs calculation, use Naive"), reported in G = 1e9. fvcore counts one "flop" per
multiply-add of convolutions and matmuls, ``5 * numel`` per affine LayerNorm and ``numel`` per
adaptive average pool; GELU, softmax, additions, padding, pixel shuffle and the bicubic skip of
ESC-FP are not counted. The attention's two matmuls (``q k^T`` and ``attn v``) are counted, on
the windows of the reflect-padded feature map (e.g. 180x320 -> 192x320 at x4).

Two ways to get the number, which agree exactly (tested):

- ``method="fvcore"``: the paper's tool. The model runs the ``sdpa`` backend (no ``N x N`` score
  tensor, so tracing an HD input is quicker) and a handle for ``aten::scaled_dot_product_attention``
  counts ``B*H*Nq*Nk*(d + dv)`` multiply-adds: what fvcore's ``matmul`` handle gives the Naive path.
  Needs a real forward pass (tens of seconds on 2 CPU threads).
- ``method="meta"``: ``torch.utils.flop_counter.FlopCounterMode`` on the meta device (no
  arithmetic, about a second) with fvcore's conventions: (conv + matmul) FLOPs / 2, plus the
  LayerNorm and pooling terms above.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from repro.errors import NotRun, NotRunCode, ReproError
from repro.models.esc.arch import build_esc, count_params
from repro.models.esc.variants import MODEL_IDS

HD = (720, 1280)  # output (H, W) of the paper's efficiency protocol

_VARIANT_OF = {mid: v for v, mid in MODEL_IDS.items()}
_VARIANT_OF |= {"esc-base": "base", "esc-lt": "light"}


def _variant(model_id: str) -> str:
    key = model_id.lower()
    if key in _VARIANT_OF:
        return _VARIANT_OF[key]
    if key in MODEL_IDS:  # a variant name ("fp", "light", ...)
        return key
    raise ReproError(f"unknown ESC model '{model_id}'; known: {', '.join(MODEL_IDS.values())}")


def input_size(scale: int, output_hw: Sequence[int] = HD) -> tuple[int, int]:
    """LR size for an output size, as the official script computes it (floor division)."""
    return output_hw[0] // scale, output_hw[1] // scale


def _sdpa_handle(inputs, outputs):
    from fvcore.nn.jit_handles import get_shape

    q, k, v = (get_shape(inputs[i]) for i in range(3))
    batch = 1
    for d in q[:-2]:
        batch *= d
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


def _fvcore(model, x) -> float:
    with warnings.catch_warnings():  # torch.jit deprecation / tracer warnings of fvcore's trace
        warnings.simplefilter("ignore")
        from fvcore.nn import FlopCountAnalysis

        fca = FlopCountAnalysis(model, x)
        fca.set_op_handle("aten::scaled_dot_product_attention", _sdpa_handle)
        fca.unsupported_ops_warnings(False)
        fca.uncalled_modules_warnings(False)
        return float(fca.total())


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _meta(model, x) -> float:
    aten = torch.ops.aten
    extra = {"layer_norm": 0, "pool": 0}

    def layer_norm(input_shape, normalized_shape, weight=None, bias=None, *a, **kw):
        extra["layer_norm"] += _numel(input_shape) * (5 if weight is not None else 4)
        return 0

    def mean(input_shape, *a, **kw):  # adaptive_avg_pool2d(x, 1) runs as mean over H, W
        extra["pool"] += _numel(input_shape)
        return 0

    with FlopCounterMode(
        display=False, custom_mapping={aten.native_layer_norm: layer_norm, aten.mean: mean}
    ) as counter:
        model(x)
    return counter.get_total_flops() / 2 + extra["layer_norm"] + extra["pool"]


def esc_flops(
    model_id: str,
    scale: int,
    *,
    output_hw: Sequence[int] = HD,
    input_hw: Sequence[int] | None = None,
    method: str = "meta",
) -> float:
    """#FLOPs in G (1e9 fvcore multiply-adds) of ``model_id`` (``esc-fp``, ``esc-light``,
    ``esc``, ``esc-xl``, ``esc-real``) at ``scale`` for a ``1 x 3 x input_hw`` input
    (default: ``output_hw // scale``, the paper's 1280x720 output)."""
    variant = _variant(model_id)
    h, w = tuple(input_hw) if input_hw is not None else input_size(scale, output_hw)
    if method == "fvcore":
        model = build_esc(variant, scale, backend="sdpa")
    elif method == "meta":
        with torch.device("meta"):
            model = build_esc(variant, scale, backend="matmul")
    else:
        raise ReproError(f"unknown FLOPs method '{method}'; use 'meta' or 'fvcore'")
    return model_flops(model, (h, w), method) / 1e9


def model_flops(model: torch.nn.Module, input_hw: Sequence[int], method: str = "meta") -> float:
    """fvcore-convention multiply-adds of an (ESC) model for a ``1 x 3 x H x W`` input.

    ``meta``: the model must live on the meta device; ``fvcore``: on the CPU."""
    h, w = input_hw
    model = model.eval()
    with torch.no_grad():
        if method == "fvcore":
            return _fvcore(model, torch.rand(1, 3, h, w))
        if method == "meta":
            return _meta(model, torch.empty(1, 3, h, w, device="meta"))
    raise ReproError(f"unknown FLOPs method '{method}'; use 'meta' or 'fvcore'")


def esc_params(model_id: str, scale: int) -> int:
    """Parameter count (all parameters are trainable; no buffers)."""
    return count_params(_variant(model_id), scale)


def complexity(
    metric: str,
    model: torch.nn.Module,
    *,
    scale: int,
    protocol: Mapping[str, Any],
    variant: str | None,
) -> float:
    """Table counter: #FLOPs (G) by the official script's convention (fvcore, meta device) for
    the protocol's output size (``flops_output``, 1280x720 by default)."""
    if metric not in ("flops", "madds"):
        raise NotRun(NotRunCode.NOT_IMPLEMENTED, f"no '{metric}' counter for ESC")
    width, height = protocol.get("flops_output", (1280, 720))
    with torch.device("meta"):  # the same architecture, no weights: shapes are all it needs
        meta = type(model)(model.cfg, backend="matmul")
    return model_flops(meta, input_size(scale, (height, width)), "meta") / 1e9
