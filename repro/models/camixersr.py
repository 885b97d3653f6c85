"""CAMixerSR (CVPR 2024, "Only Details Need More Attention") and the 360-degree CAMixerOSR.

Written from the structure of the official code (icandle/CAMixerSR @ d690b12,
``codes/basicsr/archs/CAMixerSR_arch.py`` and ``codes/odisr/archs/CAMixerOSR_arch.py``): the module
tree and the parameter names are the official ones, so the released checkpoints load strictly.
This is an inference implementation (the training path with differentiable masks is not here).

Attention ratio gamma (``ratio``)
---------------------------------
gamma is the share of 16x16 windows that get (deformable) window self-attention; the rest get
``v * sa`` (value times the predictor's spatial attention). It is set at construction and can be
changed at any time with :meth:`CAMixerSR.set_ratio` (or the ``ratio`` property). The windows are
ranked by the predictor's score ``pred_score[..., 0]`` (descending, ``torch.argsort`` as the
official code); what differs between the two modes is how many windows are kept:

``mode="official"``
    As the official eval path, per block and per call: ``F.gumbel_softmax(pred_score, hard=True)``
    is drawn (the softmax output is used as logits), ``r`` = share of windows whose sample picked
    class 0 (mean over batch and windows, float32) and ``num_keep = min(int(N * r * 2 * gamma), N)``
    (``N`` when gamma == 1, where the draw is still made so the random stream advances as in the
    official code). CAMixerOSR's official eval path ignores gamma: ``num_keep = int(N * r)``.
    The draw comes from the global torch RNG when ``seed`` is None; with an integer ``seed`` from a
    private generator reset to ``seed`` at the start of every call (the same numbers as
    ``torch.manual_seed(seed)`` right before the official forward, on CPU), so every call is
    repeatable. :meth:`CAMixerSR.rng_session` keeps one stream across several calls (used by the
    tiled inference, which seeds once per image as the official test seeds once per run).
``mode="deterministic"``
    No sampling: every block keeps the top ``floor(N * gamma + 0.5)`` windows (round half up,
    clamped to 0..N). The same input always gives the same output; no RNG is consumed.

Sparse compute: with ``num_keep < N`` only the kept windows are gathered (queries, keys, the
deformable warp of the keys, the values), attended and scattered back into ``v * sa``; with
``num_keep == N`` all windows are attended in place, without gather or sort, and without the
spatial-attention / score heads that cannot change the output then (deterministic mode).

Inputs are N x 3 x H x W floats in [0, 1]; the model reflect-pads bottom/right to a multiple of
16 (as the official ``check_image_size``) and crops the output to ``scale*H x scale*W``.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.errors import ReproError
from repro.models.registry import ModelInfo, WeightsEntry, register

__all__ = [
    "CAMixerSR",
    "CAMixerOSR",
    "MODES",
    "VARIANTS",
    "WEIGHTS",
    "build_camixersr",
    "build_camixerosr",
    "camixersr_flops",
    "cos_latitude_condition",
    "load_pretrained",
]

WINDOW = 16
MODES = ("official", "deterministic")
VARIANTS = {  # variant -> (n_feats, n_block)
    "s": (36, (4, 4, 6, 6)),
    "m": (48, (4, 4, 6, 6)),
    "b": (60, (4, 4, 6, 6)),
    "osr": (60, (6, 6, 6, 6)),
}
_ATTN_CHUNK = 512  # windows per attention matmul chunk (bounds the N x 256 x 256 score tensor)


# --------------------------------------------------------------------------------------------
# routing state shared by all mixers of one model
# --------------------------------------------------------------------------------------------
@dataclass
class Routing:
    """The attention ratio, the selection mode and the random source of one model."""

    ratio: float = 0.5
    mode: str = "official"
    seed: int | None = 0
    osr_rule: bool = False  # CAMixerOSR's official rule: num_keep = int(N * r), gamma unused
    # official dataflow: window scores, spatial attention and the full-map key warp are computed
    # even where they cannot change the output (what fvcore counts on the official model)
    dense_reference: bool = False
    generator: torch.Generator | None = field(default=None, repr=False)  # set during a call
    record: bool = True

    def keep_count(self, n: int, picked_share: torch.Tensor | None) -> int:
        if self.mode == "deterministic":
            return max(0, min(n, int(math.floor(n * self.ratio + 0.5))))
        assert picked_share is not None
        if self.osr_rule:
            return max(0, min(int(n * picked_share), n))
        if self.ratio == 1:
            return n
        # float32 tensor arithmetic, truncated: exactly the official expression
        return max(0, min(int(n * picked_share * 2 * self.ratio), n))


def _check_ratio(ratio: float) -> float:
    try:
        ratio = float(ratio)
    except (TypeError, ValueError):
        raise ReproError(f"ratio must be a number in [0, 1], got {ratio!r}") from None
    if not 0.0 <= ratio <= 1.0 or math.isnan(ratio):
        raise ReproError(f"ratio must be in [0, 1] (share of attended windows), got {ratio}")
    return ratio


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ReproError(f"mode must be one of {list(MODES)}, got {mode!r}")
    return mode


def _check_seed(seed) -> int | None:
    if seed is None or (isinstance(seed, str) and seed.lower() in ("none", "global", "")):
        return None
    try:
        return int(seed)
    except (TypeError, ValueError):
        raise ReproError(f"seed must be an integer or None (global RNG), got {seed!r}") from None


# --------------------------------------------------------------------------------------------
# small building blocks (official parameter names)
# --------------------------------------------------------------------------------------------
class LayerNorm2d(nn.Module):
    """Layer norm over the channels of an N x C x H x W map (``weight``/``bias``, eps 1e-6).

    Computed as the official channels-first LayerNorm (mean, biased variance, sqrt) so that the
    window scores round the same way.
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x - x.mean(1, keepdim=True)
        x = d / torch.sqrt(d.pow(2).mean(1, keepdim=True) + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class GatedFeedForward(nn.Module):
    """1x1 expand to 2C, depth-wise conv, GELU gate, 1x1 project (``project_in/dwconv/out``)."""

    def __init__(self, dim: int, kernel: int = 3, bias: bool = False):
        super().__init__()
        self.dim = dim
        self.project_in = nn.Conv2d(dim, dim * 2, 1, bias=bias)
        self.dwconv = nn.Conv2d(dim * 2, dim * 2, kernel, 1, kernel // 2, groups=dim * 2, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(a) * b)


class Predictor(nn.Module):
    """The per-block predictor ("route"): offsets, channel/spatial attention, window scores."""

    def __init__(self, dim: int, window: int, cond_ch: int, osr: bool = False):
        super().__init__()
        cdim = dim + cond_ch
        slope = 0.2 if osr else 0.1
        self.osr = osr
        self.window = window
        if osr:
            self.in_conv = nn.Sequential(
                nn.Conv2d(cdim, cdim // 4, 1), nn.LeakyReLU(slope, inplace=True)
            )
        else:
            self.in_conv = nn.Sequential(
                nn.Conv2d(cdim, cdim // 4, 1),
                LayerNorm2d(cdim // 4),
                nn.LeakyReLU(slope, inplace=True),
            )
        self.out_offsets = nn.Sequential(
            nn.Conv2d(cdim // 4, cdim // 8, 1),
            nn.LeakyReLU(slope, inplace=True),
            nn.Conv2d(cdim // 8, 2, 1),
        )
        self.out_mask = nn.Sequential(
            nn.Linear(window * window, window),
            nn.LeakyReLU(slope, inplace=True),
            nn.Linear(window, 2),
            nn.Softmax(dim=-1),
        )
        self.out_CA = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(cdim // 4, dim, 1), nn.Sigmoid()
        )
        self.out_SA = nn.Sequential(nn.Conv2d(cdim // 4, 1, 3, 1, 1), nn.Sigmoid())

    def features(self, cond: torch.Tensor):
        feat = self.in_conv(cond)
        offsets = self.out_offsets(feat)
        if not self.osr:
            offsets = offsets.tanh().mul(8.0)
        ca = self.out_CA(feat)
        return feat, offsets, ca

    def scores(self, feat: torch.Tensor) -> torch.Tensor:
        """Window scores, B x N x 2 (a softmax over "attend" / "skip")."""
        m = feat.mean(1, keepdim=True)
        b, _, h, w = m.shape
        ws = self.window
        tokens = m.view(b, h // ws, ws, w // ws, ws).permute(0, 1, 3, 2, 4)
        return self.out_mask(tokens.reshape(b, (h // ws) * (w // ws), ws * ws))


# --------------------------------------------------------------------------------------------
# window helpers
# --------------------------------------------------------------------------------------------
def _window_view(t: torch.Tensor, ws: int) -> torch.Tensor:
    """B x C x H x W -> a B x h x w x ws x ws x C view (no copy)."""
    b, c, h, w = t.shape
    return t.view(b, c, h // ws, ws, w // ws, ws).permute(0, 2, 4, 3, 5, 1)


def _all_windows(t: torch.Tensor, ws: int) -> torch.Tensor:
    """B x C x H x W -> (B*N) x ws*ws x C, windows in row-major order."""
    b, c, _, _ = t.shape
    return _window_view(t, ws).reshape(-1, ws * ws, c)


def _merge_windows(t: torch.Tensor, b: int, h: int, w: int, ws: int) -> torch.Tensor:
    """(B*N) x ws*ws x C -> B x C x H x W."""
    c = t.shape[-1]
    t = t.view(b, h // ws, w // ws, ws, ws, c).permute(0, 5, 1, 3, 2, 4)
    return t.reshape(b, c, h, w)


def _warp_grid(flow: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, h: int, w: int):
    """Normalised sampling grid of BasicSR's ``flow_warp`` at pixel positions (ys, xs)."""
    vx = xs + flow[..., 0]
    vy = ys + flow[..., 1]
    gx = 2.0 * vx / max(w - 1, 1) - 1.0
    gy = 2.0 * vy / max(h - 1, 1) - 1.0
    return torch.stack((gx, gy), dim=-1)


def flow_warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Warp ``x`` (B x C x H x W) by ``flow`` (B x 2 x H x W, pixels; x then y), border padding."""
    b, _, h, w = x.shape
    ys = torch.arange(h, dtype=x.dtype, device=x.device).view(1, h, 1)
    xs = torch.arange(w, dtype=x.dtype, device=x.device).view(1, 1, w)
    grid = _warp_grid(flow.permute(0, 2, 3, 1), ys, xs, h, w)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def _attend(q, k, v, project_q, project_k) -> torch.Tensor:
    """softmax(Wq q (Wk k)^T) v per window (no 1/sqrt(d) scaling, as the official code)."""
    q = project_q(q)
    k = project_k(k)
    out = torch.empty_like(v)
    for s in range(0, max(q.shape[0], 1), _ATTN_CHUNK):  # (one empty pass when no window)
        e = s + _ATTN_CHUNK
        attn = (q[s:e] @ k[s:e].transpose(-2, -1)).softmax(dim=-1)
        out[s:e] = attn @ v[s:e]
    return out


def _gumbel_picks(score: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """The official ``F.gumbel_softmax(score, hard=True, dim=2)[:, :, 0:1]`` (forward value)."""
    g = -torch.empty_like(score).exponential_(generator=gen).log()
    y_soft = (score + g).softmax(dim=2)
    index = y_soft.max(2, keepdim=True)[1]
    y_hard = torch.zeros_like(score).scatter_(2, index, 1.0)
    return (y_hard - y_soft + y_soft)[:, :, 0:1]


class _MixerBase(nn.Module):
    """Selection and sparse attention shared by CAMixer (SR) and its 360-degree variant."""

    window: int
    routing: Routing

    def _select(self, feat: torch.Tensor, b: int, n: int):
        """Return (num_keep, idx): idx is B x num_keep window ids in rank order, or None when
        every window is attended in place."""
        routing = self.routing
        score = None
        picked = None
        if routing.mode == "official":
            if routing.ratio == 1 and not routing.osr_rule:
                # the draw cannot change anything here, but it advances the RNG as officially
                torch.empty((b, n, 2), dtype=feat.dtype, device=feat.device).exponential_(
                    generator=routing.generator
                )
                keep = n
            else:
                score = self.route.scores(feat)
                mask = _gumbel_picks(score, routing.generator)
                share = torch.mean(mask, dim=(0, 1)) * 1.0
                picked = int(mask.sum().item())
                keep = routing.keep_count(n, share)
        else:
            keep = routing.keep_count(n, None)
        idx = None
        if score is None and (keep < n or routing.dense_reference):
            score = self.route.scores(feat)
        if keep < n or routing.dense_reference:  # the official code always sorts and gathers
            idx = torch.argsort(score[:, :, 0], dim=1, descending=True)[:, :keep]
        if routing.record:
            self.last_selection = {"windows": n, "picked": picked, "num_keep": keep, "idx": idx}
        return keep, idx

    def _mix(self, q_src, k_fn, v, vs, keep, idx, project_q, project_k):
        """Attend the kept windows; the others take ``vs``. Returns B x C x H x W.

        ``q_src``: the map of queries before projection; ``k_fn(sel)`` gives the keys before
        projection: the whole map for ``sel=None``, else B x K x ws x ws x C for the windows
        ``sel = (batch ids, window rows, window columns)``.
        """
        b, c, h, w = v.shape
        ws = self.window
        if keep == 0 and not self.routing.dense_reference:
            return vs
        if idx is None:  # all windows, in place
            k = k_fn(None)
            f = _attend(
                _all_windows(q_src, ws),
                _all_windows(k, ws),
                _all_windows(v, ws),
                project_q,
                project_k,
            )
            return _merge_windows(f, b, h, w, ws)
        nw = w // ws
        bi = torch.arange(b, device=v.device).view(b, 1).expand_as(idx)
        hi = torch.div(idx, nw, rounding_mode="floor")
        wi = idx - hi * nw
        sel = (bi, hi, wi)
        q = _window_view(q_src, ws)[sel].reshape(-1, ws * ws, c)
        k = k_fn(sel).reshape(-1, ws * ws, c)
        vv = _window_view(v, ws)[sel].reshape(-1, ws * ws, c)
        f = _attend(q, k, vv, project_q, project_k)
        out = vs.clone() if vs is v else vs
        _window_view(out, ws)[sel] = f.view(b, -1, ws, ws, c)
        return out


def _window_coords(sel, ws: int, dtype, device):
    """Pixel coordinates (ys, xs) of the selected windows: B x K x ws x ws each."""
    _, hi, wi = sel
    r = torch.arange(ws, dtype=dtype, device=device)
    ys = (hi.to(dtype) * ws)[..., None, None] + r.view(1, 1, ws, 1)
    xs = (wi.to(dtype) * ws)[..., None, None] + r.view(1, 1, 1, ws)
    return ys, xs


def _sampled_keys(x: torch.Tensor, flow: torch.Tensor, sel, ws: int) -> torch.Tensor:
    """``flow_warp(x, flow)`` evaluated only at the pixels of the selected windows.

    Returns B x K x ws x ws x C (same values as warping the whole map, then gathering).
    """
    b, c, h, w = x.shape
    ys, xs = _window_coords(sel, ws, x.dtype, x.device)
    fl = _window_view(flow, ws)[sel]  # B x K x ws x ws x 2
    grid = _warp_grid(fl, ys.expand_as(fl[..., 0]), xs.expand_as(fl[..., 0]), h, w)
    k = grid.shape[1]
    out = F.grid_sample(
        x,
        grid.reshape(b, k * ws, ws, 2),
        mode="bilinear",
        padding_mode="border",
        align_corners=True,
    )  # B x C x K*ws x ws
    return out.view(b, c, k, ws, ws).permute(0, 2, 3, 4, 1)


# --------------------------------------------------------------------------------------------
# CAMixerSR
# --------------------------------------------------------------------------------------------
class CAMixer(_MixerBase):
    """Content-aware mixer: deformable window attention on complex windows, conv elsewhere."""

    def __init__(self, dim: int, window: int, routing: Routing):
        super().__init__()
        self.dim = dim
        self.window = window
        self.routing = routing
        self.last_selection: dict | None = None
        self.project_v = nn.Conv2d(dim, dim, 1)
        self.project_q = nn.Linear(dim, dim)
        self.project_k = nn.Linear(dim, dim)
        self.conv_sptial = nn.Sequential(  # (sic) official name
            nn.Conv2d(dim, dim, 3, padding=1, groups=dim),
            nn.Conv2d(dim, dim, 3, padding=2, groups=dim, dilation=2),
        )
        self.project_out = nn.Conv2d(dim, dim, 1)
        self.act = nn.GELU()
        self.route = Predictor(dim, window, cond_ch=4)

    def forward(self, x, cond_global, cond_window):
        b, _, h, w = x.shape
        ws = self.window
        v = self.project_v(x)
        feat, offsets, ca = self.route.features(torch.cat([v, cond_global, cond_window], dim=1))
        n = (h // ws) * (w // ws)
        keep, idx = self._select(feat, b, n)
        dense = self.routing.dense_reference
        if keep < n or dense:
            vs = v * self.route.out_SA(feat)
        else:
            vs = v  # every window is attended: ``v * sa`` is never used

        def keys(sel):
            if sel is None:
                return x + flow_warp(x, offsets)
            if dense:
                return _window_view(x + flow_warp(x, offsets), ws)[sel]
            return _window_view(x, ws)[sel] + _sampled_keys(x, offsets, sel, ws)

        out = self._mix(x, keys, v, vs, keep, idx, self.project_q, self.project_k)
        out = self.act(self.conv_sptial(out)) * ca + out
        return self.project_out(out)


class Block(nn.Module):
    def __init__(self, dim: int, window: int, routing: Routing):
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.mixer = CAMixer(dim, window, routing)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = GatedFeedForward(dim)

    def forward(self, x, cond_global, cond_window):
        x = self.norm1(x + self.mixer(x, cond_global, cond_window))
        return self.norm2(x + self.ffn(x))


class Group(nn.Module):
    def __init__(self, dim: int, n_block: int, window: int, routing: Routing):
        super().__init__()
        self.body = nn.ModuleList(Block(dim, window, routing) for _ in range(n_block))
        self.body_tail = nn.Conv2d(dim, dim, 1)

    def forward(self, x, cond_global, cond_window):
        shortcut = x
        for blk in self.body:
            x = blk(x, cond_global, cond_window)
        return self.body_tail(x) + shortcut


def _window_condition(b: int, h: int, w: int, ws: int, like: torch.Tensor) -> torch.Tensor:
    """Per-window coordinates in [-1, 1] (row, column), tiled: B x 2 x H x W."""
    r = torch.linspace(-1, 1, ws)
    grid = torch.stack(torch.meshgrid(r, r, indexing="ij")).type_as(like)
    return grid.unsqueeze(0).repeat(b, 1, h // ws, w // ws)


class _RatioMixin:
    """gamma / mode / seed handling shared by both model classes."""

    routing: Routing

    @property
    def ratio(self) -> float:
        return self.routing.ratio

    @ratio.setter
    def ratio(self, value: float) -> None:
        self.routing.ratio = _check_ratio(value)

    @property
    def mode(self) -> str:
        return self.routing.mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.routing.mode = _check_mode(value)

    @property
    def seed(self) -> int | None:
        return self.routing.seed

    @seed.setter
    def seed(self, value) -> None:
        self.routing.seed = _check_seed(value)

    def set_ratio(self, ratio: float):
        """Change gamma (share of attended windows) for the following calls; returns self."""
        self.ratio = ratio
        return self

    def set_mode(self, mode: str):
        self.mode = mode
        return self

    def mixers(self) -> list[_MixerBase]:
        return [m for m in self.modules() if isinstance(m, _MixerBase)]

    def selection_log(self) -> list[dict]:
        """Per block of the last call: windows, picked (Gumbel count), num_keep, attended ids.

        ``attended`` lists, per image, the attended window ids (row-major) in rank order.
        """
        log = []
        for i, m in enumerate(self.mixers()):
            s = m.last_selection
            if s is None:
                continue
            idx = s["idx"]
            attended = None if idx is None else idx.tolist()  # None: all windows, in place
            log.append(
                {
                    "block": i,
                    "windows": s["windows"],
                    "picked": s["picked"],
                    "num_keep": s["num_keep"],
                    "attended": attended,
                }
            )
        return log

    @contextlib.contextmanager
    def rng_session(self, seed: int | None = None) -> Iterator[None]:
        """Draw from one stream across several calls (seeded once with ``seed`` or self.seed).

        Without a seed at all (both None) the global RNG is used, as outside a session.
        """
        seed = self.routing.seed if seed is None else seed
        prev = self.routing.generator
        self._session = True
        try:
            self.routing.generator = None if seed is None else _make_generator(seed, self)
            yield
        finally:
            self._session = False
            self.routing.generator = prev

    @contextlib.contextmanager
    def _call_rng(self, device: torch.device) -> Iterator[None]:
        if getattr(self, "_session", False) or self.routing.mode != "official":
            yield
            return
        prev = self.routing.generator
        seed = self.routing.seed
        self.routing.generator = (
            None if seed is None else torch.Generator(device=device).manual_seed(seed)
        )
        try:
            yield
        finally:
            self.routing.generator = prev

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ws = self.window_size
        ph = (ws - h % ws) % ws
        pw = (ws - w % ws) % ws
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), "reflect")
        return x


def _make_generator(seed: int, model: nn.Module) -> torch.Generator:
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    return torch.Generator(device=device).manual_seed(int(seed))


class CAMixerSR(_RatioMixin, nn.Module):
    """CAMixerSR; defaults as the official class (n_feats 60 = CAMixerSR-B, x4, gamma 0.5)."""

    def __init__(
        self,
        n_block: Sequence[int] = (4, 4, 6, 6),
        n_group: int = 4,
        n_colors: int = 3,
        n_feats: int = 60,
        scale: int = 4,
        ratio: float = 0.5,
        mode: str = "official",
        seed: int | None = 0,
    ):
        super().__init__()
        self.n_feats = n_feats
        self.scale = scale
        self.window_size = WINDOW
        self.n_block = tuple(n_block)
        self.variant = {36: "s", 48: "m", 60: "b"}.get(n_feats, f"c{n_feats}")
        self._session = False
        self.routing = Routing(_check_ratio(ratio), _check_mode(mode), _check_seed(seed))
        self.head = nn.Conv2d(n_colors, n_feats, 3, 1, 1)
        self.global_predictor = nn.Sequential(
            nn.Conv2d(n_feats, 8, 1),
            nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(8, 2, 3, 1, 1),
            nn.LeakyReLU(0.1, inplace=True),
        )
        self.body = nn.ModuleList(
            Group(n_feats, n_block[i], WINDOW, self.routing) for i in range(n_group)
        )
        self.body_tail = nn.Conv2d(n_feats, n_feats, 3, 1, 1)
        self.tail = nn.Sequential(
            nn.Conv2d(n_feats, n_colors * scale**2, 3, 1, 1), nn.PixelShuffle(scale)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        with self._call_rng(x.device):
            x = self._pad(x)
            x = self.head(x)
            cond_global = self.global_predictor(x)
            b, _, hp, wp = x.shape
            cond_window = _window_condition(b, hp, wp, self.window_size, x)
            shortcut = x
            for group in self.body:
                x = group(x, cond_global, cond_window)
            x = self.tail(self.body_tail(x) + shortcut)
        return x[:, :, : h * self.scale, : w * self.scale]


# --------------------------------------------------------------------------------------------
# CAMixerOSR (360-degree SR): latitude condition, shifted windows, DCNv2 group tails
# --------------------------------------------------------------------------------------------
def deform_conv2d(x, offset, mask, weight, bias, padding: int = 1, dilation: int = 1):
    """Modulated deformable convolution (DCNv2), stride 1, one offset group, pure PyTorch.

    The semantics of ``torchvision.ops.deform_conv2d`` (offsets as (dy, dx) pairs per kernel
    tap, bilinear sampling with zeros outside), computed with ``grid_sample``.
    """
    b, c, h, w = x.shape
    kh, kw = weight.shape[-2:]
    ys = torch.arange(h, dtype=x.dtype, device=x.device).view(1, h, 1)
    xs = torch.arange(w, dtype=x.dtype, device=x.device).view(1, 1, w)
    cols = []
    for i in range(kh):
        for j in range(kw):
            t = i * kw + j
            py = ys - padding + i * dilation + offset[:, 2 * t]
            px = xs - padding + j * dilation + offset[:, 2 * t + 1]
            grid = torch.stack(
                (2.0 * px / max(w - 1, 1) - 1.0, 2.0 * py / max(h - 1, 1) - 1.0), dim=-1
            )
            s = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
            cols.append(s * mask[:, t : t + 1])
    col = torch.stack(cols, dim=2).reshape(b, c * kh * kw, h * w)  # channel-major, tap-minor
    out = weight.reshape(weight.shape[0], -1) @ col
    out = out.view(b, -1, h, w)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


class DCNv2Pack(nn.Module):
    """BasicSR's DCNv2Pack: offsets and masks from a separate feature (``conv_offset``)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, padding: int = 1):
        super().__init__()
        self.padding = padding
        self.weight = nn.Parameter(torch.empty(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.conv_offset = nn.Conv2d(in_ch, 3 * kernel * kernel, kernel, 1, padding)
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        o1, o2, mask = torch.chunk(self.conv_offset(feat), 3, dim=1)
        offset = torch.cat((o1, o2), dim=1)
        return deform_conv2d(x, offset, torch.sigmoid(mask), self.weight, self.bias, self.padding)


class CAMixerOSRMixer(_MixerBase):
    """CAMixer of the 360-degree model: shifted windows, warped queries and keys, 5x5 convs."""

    def __init__(self, dim: int, window: int, shift: int, routing: Routing):
        super().__init__()
        self.dim = dim
        self.window = window
        self.shift = shift
        self.routing = routing
        self.last_selection: dict | None = None
        self.project_v = nn.Conv2d(dim, dim, 1)
        self.project_q = nn.Linear(dim, dim)
        self.project_k = nn.Linear(dim, dim)
        self.conv_sptial = nn.Sequential(
            nn.Conv2d(dim, dim, 1),
            nn.Conv2d(dim, dim, 5, padding=2, groups=dim),
            nn.Conv2d(dim, dim, 5, padding=6, groups=dim, dilation=3),
        )
        self.project_out = nn.Conv2d(dim, dim, 1)
        self.act = nn.GELU()
        self.route = Predictor(dim, window, cond_ch=3, osr=True)

    def forward(self, x, cond_global, cond_window):
        b, _, h, w = x.shape
        ws, s = self.window, self.shift
        xs = torch.roll(x, (-s, -s), dims=(2, 3)) if s else x
        v = self.project_v(xs)
        cw = torch.roll(cond_window, (-s, -s), dims=(2, 3)) if s else cond_window
        feat, offsets, ca = self.route.features(torch.cat([v, cond_global, cw], dim=1))
        n = (h // ws) * (w // ws)
        keep, idx = self._select(feat, b, n)
        vs = v * self.route.out_SA(feat) if keep < n or self.routing.dense_reference else v
        warped = flow_warp(x, offsets)
        if s:
            warped = torch.roll(warped, (-s, -s), dims=(2, 3))

        def keys(sel):
            return warped if sel is None else _window_view(warped, ws)[sel]

        out = self._mix(warped, keys, v, vs, keep, idx, self.project_q, self.project_k)
        if s:
            out = torch.roll(out, (s, s), dims=(2, 3))
        out = self.act(self.conv_sptial(out)) * ca + out
        return self.project_out(out)


class OSRBlock(nn.Module):
    def __init__(self, dim: int, window: int, shift: int, routing: Routing):
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.mixer = CAMixerOSRMixer(dim, window, shift, routing)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = GatedFeedForward(dim, kernel=5, bias=True)

    def forward(self, x, cond_global, cond_window):
        x = self.norm1(x + self.mixer(x, cond_global, cond_window))
        return self.norm2(x + self.ffn(x))


def _offset_conv(dim: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, dim, 1),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(dim, dim, 1),
        nn.LeakyReLU(0.2, inplace=True),
    )


class OSRGroup(nn.Module):
    def __init__(self, dim: int, n_block: int, window: int, routing: Routing):
        super().__init__()
        self.body = nn.ModuleList(
            OSRBlock(dim, window, 0 if i % 2 == 0 else window // 2, routing) for i in range(n_block)
        )
        self.offset_conv = _offset_conv(dim)
        self.body_tail = DCNv2Pack(dim, dim, 3, padding=1)

    def forward(self, x, cond_global, cond_window):
        shortcut = x
        for blk in self.body:
            x = blk(x, cond_global, cond_window)
        return self.body_tail(x, self.offset_conv(cond_global)) + shortcut


def cos_latitude_condition(h: int, w: int, batch: int = 1, like: torch.Tensor | None = None):
    """The ODI-SR test condition ``cos_latitude``: cos(latitude) of each LR row, B x 1 x H x W.

    Row i (0-based) has latitude (-1 + (2i + 1)/H) * pi/2 (grid centres), as the official
    ERPPairedImageDataset builds it for the LR image.
    """
    r = 1.0 / h
    rows = -1 + r + 2 * r * torch.arange(h).float()
    cond = torch.cos(rows * math.pi / 2).view(1, 1, h, 1).repeat(batch, 1, 1, w)
    return cond if like is None else cond.type_as(like)


class CAMixerOSR(_RatioMixin, nn.Module):
    """CAMixerOSR (360-degree SR), n_block [6,6,6,6], n_feats 60.

    ``forward(x, condition=None)``: the condition is one latitude channel at the LR size; None
    builds the official test condition (:func:`cos_latitude_condition`). It is reflect-padded
    with the image (the official code expects sizes that are multiples of 16). In official mode the
    number of attended windows follows the official eval rule ``int(N * r)``, which does not use
    gamma; gamma acts in deterministic mode.
    """

    def __init__(
        self,
        n_block: Sequence[int] = (6, 6, 6, 6),
        n_group: int = 4,
        n_colors: int = 3,
        n_feats: int = 60,
        scale: int = 4,
        ratio: float = 0.5,
        mode: str = "official",
        seed: int | None = 0,
    ):
        super().__init__()
        self.n_feats = n_feats
        self.scale = scale
        self.window_size = WINDOW
        self.n_block = tuple(n_block)
        self.variant = "osr"
        self.img_range = 1.0
        self.rgb_mean = (0.4488, 0.4371, 0.4040)
        self._session = False
        self.routing = Routing(
            _check_ratio(ratio), _check_mode(mode), _check_seed(seed), osr_rule=True
        )
        self.head = nn.Conv2d(n_colors, n_feats, 3, 1, 1)
        self.norm = LayerNorm2d(n_feats)
        self.body = nn.ModuleList(
            OSRGroup(n_feats, n_block[i], WINDOW, self.routing) for i in range(n_group)
        )
        self.offset_conv = _offset_conv(n_feats)
        self.body_tail = nn.Conv2d(n_feats, n_feats, 3, padding=1)
        self.dcn = DCNv2Pack(n_feats, n_feats, 3, padding=1)
        self.tail = nn.Sequential(
            nn.Conv2d(n_feats, n_colors * scale**2, 3, 1, 1), nn.PixelShuffle(scale)
        )

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        b, _, h, w = x.shape
        if condition is None:
            condition = cos_latitude_condition(h, w, b, like=x)
        else:
            condition = condition.type_as(x)
            if condition.shape[-2:] != (h, w):
                raise ReproError(
                    f"CAMixerOSR condition must be ...x1x{h}x{w} (the LR size), "
                    f"got {tuple(condition.shape)}"
                )
            condition = condition.expand(b, 1, h, w)
        with self._call_rng(x.device):
            x = self._pad(x)
            cond = self._pad(condition)
            mean = torch.tensor(self.rgb_mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
            x = (x - mean) * self.img_range
            x = self.head(x)
            bb, _, hp, wp = x.shape
            cond_window = _window_condition(bb, hp, wp, self.window_size, x)
            shortcut = x
            x = self.norm(x)
            for group in self.body:
                x = group(x, cond, cond_window)
            x = self.body_tail(x)
            x = self.dcn(x, self.offset_conv(cond))
            x = self.tail(x + shortcut)
            x = x / self.img_range + mean
        return x[:, :, : h * self.scale, : w * self.scale]


# --------------------------------------------------------------------------------------------
# builders, registry, weights
# --------------------------------------------------------------------------------------------
def build_camixersr(
    variant: str = "b", scale: int = 4, ratio: float = 0.5, mode: str = "official", seed=0
) -> CAMixerSR:
    variant = variant.lower()
    if variant not in ("s", "m", "b"):
        raise ReproError(f"unknown CAMixerSR variant {variant!r}; use s, m or b")
    if scale not in (2, 3, 4):
        raise ReproError(f"CAMixerSR has x2, x3 and x4 models, not x{scale}")
    n_feats, n_block = VARIANTS[variant]
    return CAMixerSR(n_block, 4, 3, n_feats, scale, ratio, mode, seed).eval()


def build_camixerosr(scale: int = 4, ratio: float = 0.5, mode: str = "official", seed=0):
    if scale not in (2, 4):
        raise ReproError(f"CAMixerOSR has x2 and x4 models, not x{scale}")
    n_feats, n_block = VARIANTS["osr"]
    return CAMixerOSR(n_block, 4, 3, n_feats, scale, ratio, mode, seed).eval()


COMMIT = "d690b12bb2a0a185dc0049538b377d569f520497"
_RAW = f"https://github.com/icandle/CAMixerSR/raw/{COMMIT}/pretrained_models/"


def _entry(id_, path, filename=None, sha256=None, also=(), what="", sha256_source=""):
    return WeightsEntry(
        id=id_,
        filename=filename or os.path.basename(path),
        urls=tuple(_RAW + p for p in (path, *also)),
        sha256=sha256,
        key="params_ema",
        source=f"icandle/CAMixerSR@{COMMIT[:7]} pretrained_models/{path}"
        + (f" ({what})" if what else ""),
        sha256_source=sha256_source,
    )


# sha256 of the official files where a source states it. The checkpoints are plain git blobs
# (not Git LFS) in the official repository, so no pointer file publishes their sha256; only
# CAMixerSR_S.pth is known (the shared copy, taken from the repository at COMMIT).


# File names that occur twice in the official folder (LightSR/ and ODISR/ both have
# CAMixerSRx2.pth and CAMixerSRx4.pth) keep their sub-folder; a copy saved under the bare name
# is told apart by its keys and shapes (weights.find_local), so the two are never confused.
WEIGHTS: dict[str, WeightsEntry] = {
    e.id: e
    for e in (
        _entry(
            "camixersr-b-x2",
            "LightSR/CAMixerSRx2.pth",
            "LightSR/CAMixerSRx2.pth",
            what="lightweight SR x2, DIV2K",
        ),
        _entry("camixersr-b-x3", "LightSR/CAMixerSRx3.pth", what="lightweight SR x3, DIV2K"),
        _entry(
            "camixersr-b-x4",
            "LightSR/CAMixerSRx4.pth",
            "CAMixerSR_B.pth",
            also=("LargeSR/CAMixerSR_B.pth",),
            what="lightweight SR x4, DIV2K; the same file as LargeSR/CAMixerSR_B.pth",
        ),
        _entry("camixersr-b-x2-df2k", "LightSR/CAMixerSRx2_DF.pth", what="lightweight SR x2, DF2K"),
        _entry("camixersr-b-x4-df2k", "LightSR/CAMixerSRx4_DF.pth", what="lightweight SR x4, DF2K"),
        _entry(
            "camixersr-s-x4",
            "LargeSR/CAMixerSR_S.pth",
            sha256="49ffcfbb59583b4512ed7f4290b6f480b4bac50afb3d1db1553687bbdeff3076",
            what="large-image SR x4, n_feats 36",
            sha256_source=(
                f"shared/weights/README.md: the file at icandle/CAMixerSR@{COMMIT[:7]} "
                "pretrained_models/LargeSR/CAMixerSR_S.pth"
            ),
        ),
        _entry("camixersr-m-x4", "LargeSR/CAMixerSR_M.pth", what="large-image SR x4, n_feats 48"),
        _entry(
            "camixersr-osr-x2",
            "ODISR/CAMixerSRx2.pth",
            "ODISR/CAMixerSRx2.pth",
            what="360-degree SR x2 (CAMixerOSR)",
        ),
        _entry(
            "camixersr-osr-x4",
            "ODISR/CAMixerSRx4.pth",
            "ODISR/CAMixerSRx4.pth",
            what="360-degree SR x4 (CAMixerOSR)",
        ),
    )
}


def load_pretrained(
    model: nn.Module, source: str | os.PathLike | None = None, key: str | None = None
):
    """Load released weights strictly: ``source`` is a WEIGHTS id, a file path, or None (the
    default checkpoint of the model's variant and scale); ``key`` picks ``params_ema`` (default)
    or ``params``. Returns the model."""
    from repro.models import weights as W

    if source is None or (isinstance(source, str) and source in WEIGHTS):
        if source is None:
            source = f"camixersr-{model.variant}-x{model.scale}"
            if source not in WEIGHTS:
                raise ReproError(f"no released checkpoint for {source}; pass a file path")
        entry = WEIGHTS[source]
        path = W.resolve(entry)
        key = key or entry.key
    else:
        path = W.resolve(WEIGHTS["camixersr-s-x4"], source)  # a user path: no checksum
        key = key or "params_ema"
    state = W.read_state_dict(path, key)
    W.load_strict(model, state, source=str(path))
    return model


_SETTINGS = ("ratio", "mode", "seed")


def _register() -> None:
    desc = {
        "s": "CAMixerSR-S (n_feats 36), large-image SR",
        "m": "CAMixerSR-M (n_feats 48), large-image SR",
        "b": "CAMixerSR-B (n_feats 60), lightweight and large-image SR",
    }
    default = {
        "s": {4: "camixersr-s-x4"},
        "m": {4: "camixersr-m-x4"},
        "b": {2: "camixersr-b-x2", 3: "camixersr-b-x3", 4: "camixersr-b-x4"},
        "osr": {2: "camixersr-osr-x2", 4: "camixersr-osr-x4"},
    }
    for v in ("s", "m", "b"):

        def _build(scale: int = 4, _v=v, **settings) -> nn.Module:
            return build_camixersr(_v, scale, **settings)

        register(
            ModelInfo(
                id=f"camixersr-{v}",
                family="camixersr",
                variant=v,
                scales=(2, 3, 4),
                build=_build,
                description=desc[v] + "; settings ratio (gamma), mode (official|deterministic),"
                " seed (int, or none = global RNG)",
                weights={s: WEIGHTS[i] for s, i in default[v].items()},
                settings=_SETTINGS,
            )
        )

    def _build_osr(scale: int = 4, **settings) -> nn.Module:
        return build_camixerosr(scale, **settings)

    register(
        ModelInfo(
            id="camixersr-osr",
            family="camixersr",
            variant="osr",
            scales=(2, 4),
            build=_build_osr,
            description="CAMixerOSR (360-degree SR, n_block [6,6,6,6], n_feats 60); forward(x, "
            "condition=None) with a cos-latitude condition built from the LR size",
            weights={s: WEIGHTS[i] for s, i in default["osr"].items()},
            settings=_SETTINGS,
        )
    )


_register()


def camixersr_flops(model: nn.Module, lr_hw: tuple[int, int], convention: str = "fvcore", **kw):
    """FLOPs of ``model`` for an LR input of ``lr_hw``; see :mod:`repro.models.camixersr_flops`."""
    from repro.models.camixersr_flops import camixersr_flops as _flops

    return _flops(model, lr_hw, convention=convention, **kw)


def complexity(metric: str, model: nn.Module, row, spec, variant: str | None) -> float:
    """Table hook, in G: ``madds`` by fvcore's count for the spec's output size (Tables 1/3),
    ``flops`` by the official ``flops()`` method on the spec's LR patch (Table 2)."""
    from repro.models.camixersr_flops import lr_size_for_output

    if metric == "madds":
        width, height = spec.protocol.get("flops_output", (1280, 720))
        lr_hw = lr_size_for_output((height, width), row.scale)
        return camixersr_flops(model, lr_hw, convention="fvcore") / 1e9
    if metric == "flops":
        lr_hw = tuple(spec.protocol.get("flops_lr_input", (32, 32)))
        return camixersr_flops(model, lr_hw, convention="official") / 1e9
    if metric == "latency_ratio":
        return _latency_ratio(model, spec, variant)
    raise ReproError(f"NOT-IMPLEMENTED: no '{metric}' counter for CAMixerSR")


def _latency_ratio(model: nn.Module, spec, variant: str | None) -> float:
    """Latency at the model's gamma over latency at gamma 1, same input, same process.

    The two are timed in alternation, one pair per round, and the median of the per-round
    ratios is returned: drift and other load then hit both sides alike (timing all of one
    side first let the ratio wander from 0.60 to 0.78 between runs on a shared machine).
    """
    import statistics

    from repro.eval.complexity import latency_setting, measure_latency

    setting = latency_setting(spec, variant)
    if str(setting.get("device", "cpu")) != "cpu" or "input_lr" not in setting:
        raise ReproError("NOT-IMPLEMENTED: latency ratios are measured on the CPU with input_lr")
    threads = setting.get("threads")
    ratio = model.ratio
    ratios = []
    try:
        for _ in range(int(setting.get("repeats", 5))):
            # one warmed-up forward per side and round: the median is taken over rounds
            base = measure_latency(
                model.set_ratio(1.0), setting["input_lr"], threads=threads, repeats=1
            )
            mine = measure_latency(
                model.set_ratio(ratio), setting["input_lr"], threads=threads, repeats=1
            )
            ratios.append(mine / base)
    finally:
        model.set_ratio(ratio)
    return statistics.median(ratios)
