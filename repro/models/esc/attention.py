"""Window self-attention with a relative-position bias, for ESC; several interchangeable backends.

ESC (dslisleedh/ESC) attends inside non-overlapping ``w x w`` windows (w = 32; 48 for ESC-XL)
with a learned bias per head and relative offset: ``table[h, (dy + w - 1) * (2w - 1) + dx + w - 1]``
where ``dy = k_row - q_row`` and ``dx = k_col - q_col`` (the transposed Swin index; same set of
distances). Every backend computes ``softmax(q k^T / sqrt(d) + bias) v``:

- ``matmul``: plain ``q @ k^T``, add the gathered bias, softmax, ``@ v`` (the official "Naive"
  path, which produced the golden outputs);
- ``sdpa``: ``F.scaled_dot_product_attention`` with the gathered bias as an additive float mask;
- ``flex``: ``torch.compile(flex_attention)`` with the bias applied in a ``score_mod`` (what the
  official test configs use). One compiled function serves every block (the bias table is an
  argument, not a closure constant), so it compiles once per head count (~10-20 s on CPU);
- ``flex-eager``: the same ``score_mod`` without compiling (bit-exact with ``matmul`` but very slow
  on CPU: it materialises the scores through ``vmap``);
- ``auto``: the fastest that works on the device, see :func:`resolve_backend`.

The ``(N, N)`` relative-index table (``N = w*w``) is built once per window size and device, on
the device, and cached at module level (:func:`repro.models.device_tables.device_table`; it is
not a parameter, so the state dict keeps the official keys); a compiled or CUDA-graph-captured
forward takes it as a constant.
"""

from __future__ import annotations

import functools
import warnings

import torch
import torch.nn.functional as F

from repro.errors import ReproError
from repro.models.device_tables import device_table

BACKENDS = ("auto", "matmul", "sdpa", "flex", "flex-eager")


@device_table
def relative_index(window: int, device: torch.device) -> torch.Tensor:
    """``(w*w, w*w)`` long tensor: row = query position, column = key position, value = index
    into the ``(2w-1)**2`` bias table. Built once per (window, device), on the device."""
    pos = torch.arange(window * window, device=device)
    row, col = pos // window, pos % window
    rel_h = row[None, :] - row[:, None] + window - 1  # key row - query row
    rel_w = col[None, :] - col[:, None] + window - 1
    return rel_h * (2 * window - 1) + rel_w


def gather_bias(table: torch.Tensor, window: int) -> torch.Tensor:
    """``(1, heads, N, N)`` additive bias from the ``(heads, (2w-1)**2)`` table."""
    idx = relative_index(window, table.device)
    n = window * window
    return table.index_select(1, idx.reshape(-1)).reshape(1, table.shape[0], n, n)


def attention_matmul(q, k, v, bias):
    """The official 'Naive' attention, operation for operation."""
    score = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    score = score + bias
    score = F.softmax(score, dim=-1)
    return score @ v


def attention_sdpa(q, k, v, bias):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))


def _rpe_score_mod(table: torch.Tensor, window: int):
    def score_mod(score, b, h, q_idx, kv_idx):
        rel_h = kv_idx // window - q_idx // window + window - 1
        rel_w = kv_idx % window - q_idx % window + window - 1
        return score + table[h, rel_h * (2 * window - 1) + rel_w]

    return score_mod


def _flex_rpe(q, k, v, table, window: int):
    from torch.nn.attention.flex_attention import flex_attention

    return flex_attention(q, k, v, score_mod=_rpe_score_mod(table, window))


@functools.lru_cache(maxsize=1)
def _compiled_flex():
    return torch.compile(_flex_rpe, dynamic=True)


def attention_flex(q, k, v, table, window: int, compiled: bool = True):
    if compiled:
        try:
            return _compiled_flex()(q, k, v, table.to(q.dtype), window)
        except Exception as exc:  # no C++ compiler / triton, unsupported device, ...
            raise ReproError(
                f"attention backend 'flex' (torch.compile(flex_attention)) failed on "
                f"{q.device.type} with torch {torch.__version__}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}; use --set backend=sdpa "
                "(or matmul / flex-eager)"
            ) from exc
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*flex_attention called without torch.compile")
        return _flex_rpe(q, k, v, table.to(q.dtype), window)


def check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise ReproError(
            f"unknown ESC attention backend '{name}'; choose one of {', '.join(BACKENDS)}"
        )
    return name


def resolve_backend(name: str, device: torch.device | str) -> str:
    """Map ``auto`` to a concrete backend for ``device``.

    CPU: ``sdpa`` (measured in benchmarks/esc.md: the fastest of the three at 128x128 and at the
    paper's HD setting, no compile time). CUDA: ``flex`` when triton is importable (the
    official choice; not measured here, no GPU was available), else ``sdpa``.
    """
    check_backend(name)
    if name != "auto":
        return name
    dev = torch.device(device).type
    if dev == "cuda":
        try:
            import triton  # noqa: F401

            return "flex"
        except ImportError:
            return "sdpa"
    return "sdpa"


def window_attention(q, k, v, table: torch.Tensor, window: int, backend: str) -> torch.Tensor:
    """``q, k, v``: ``(windows, heads, w*w, head_dim)``; ``backend`` already resolved."""
    if backend == "matmul":
        return attention_matmul(q, k, v, gather_bias(table, window).to(q.dtype))
    if backend == "sdpa":
        return attention_sdpa(q, k, v, gather_bias(table, window))
    if backend == "flex":
        return attention_flex(q, k, v, table, window, compiled=True)
    if backend == "flex-eager":
        return attention_flex(q, k, v, table, window, compiled=False)
    raise ReproError(f"attention backend '{backend}' is not resolved; call resolve_backend first")
