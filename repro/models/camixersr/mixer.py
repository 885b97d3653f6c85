"""The content-aware mixer: window selection, sparse (deformable) window attention, CAMixer."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.models.camixersr.blocks import (
    Predictor,
    all_windows,
    attend,
    flow_warp,
    merge_windows,
    warp_grid,
    window_view,
)
from repro.models.camixersr.routing import Routing, gumbel_picks


def static_shapes(t: torch.Tensor) -> bool:
    """True while the forward is traced by ``torch.compile`` or captured in a CUDA graph: no
    value may then go back to the host, so shapes must follow from the input's shape alone."""
    return torch.compiler.is_compiling() or (t.is_cuda and torch.cuda.is_current_stream_capturing())


class MixerBase(nn.Module):
    """Selection and sparse attention shared by CAMixer (SR) and its 360-degree variant, and
    their first layers (``project_v``, ``project_q``, ``project_k``, in the official order)."""

    def __init__(self, dim: int, window: int, routing: Routing):
        super().__init__()
        self.dim = dim
        self.window = window
        self.routing = routing
        self.index = 0  # position among the model's mixers: which of the call's draws is ours
        self.last_selection: dict | None = None
        self.project_v = nn.Conv2d(dim, dim, 1)
        self.project_q = nn.Linear(dim, dim)
        self.project_k = nn.Linear(dim, dim)

    def _select(self, feat: torch.Tensor, b: int, n: int, draws: torch.Tensor | None):
        """Return (idx, count): idx is B x K window ids in rank order, or None when every window
        is attended in place; count is None when all K are attended, else the drawn number
        (a device tensor) of the first of them that are, the others keeping ``v * sa``.

        Deterministic mode: K = ``floor(N * gamma + 0.5)``. Official mode: K is the drawn count
        (read back to the host), or, while the forward is traced or captured
        (:func:`static_shapes`), the largest count the draw allows, masked to the drawn one.
        """
        routing = self.routing
        score = picked = count = None
        if routing.mode == "official" and (routing.ratio < 1 or routing.osr_rule):
            score = self.route.scores(feat)
            mask = gumbel_picks(score, draws[self.index])
            picked = mask.sum()
            drawn = routing.drawn_keep(n, torch.mean(mask, dim=(0, 1)) * 1.0)
            if static_shapes(feat):
                keep, count = routing.keep_bound(n), drawn
            else:
                keep = int(drawn)
        elif routing.mode == "official":
            keep = n  # gamma 1: the draw (made all the same, as officially) changes nothing
        else:
            keep = routing.keep_count(n)
        idx = None
        if keep < n or count is not None or routing.dense_reference:
            # (the official code always sorts and gathers)
            if score is None:
                score = self.route.scores(feat)
            idx = torch.argsort(score[:, :, 0], dim=1, descending=True)[:, :keep]
        if routing.record:
            self.last_selection = {
                "windows": n,
                "picked": picked,
                "num_keep": keep if count is None else count,
                "idx": idx,
            }
        return idx, count

    def _mix(self, q_src, k_fn, v, vs, idx, count, project_q, project_k):
        """Attend the windows ``idx`` (the first ``count`` of them, if given); the others take
        ``vs``. Returns B x C x H x W.

        ``q_src``: the map of queries before projection. ``k_fn(sel, qw)`` gives the keys before
        projection, shaped as ``qw``, the query windows already cut from ``q_src`` (so that keys
        built on the same map reuse that copy): for ``sel=None`` all windows, (B*N) x ws*ws x C;
        else B x K x ws x ws x C for the windows ``sel = (batch ids, window rows, window
        columns)``.
        """
        b, c, h, w = v.shape
        ws = self.window
        if idx is None:  # all windows, in place
            qw = all_windows(q_src, ws)
            f = attend(qw, k_fn(None, qw), all_windows(v, ws), project_q, project_k)
            return merge_windows(f, b, h, w, ws)
        keep = idx.shape[1]
        if keep == 0 and not self.routing.dense_reference:
            return vs
        nw = w // ws
        bi = torch.arange(b, device=v.device).view(b, 1).expand_as(idx)
        hi = torch.div(idx, nw, rounding_mode="floor")
        wi = idx - hi * nw
        sel = (bi, hi, wi)
        qw = window_view(q_src, ws)[sel]
        k = k_fn(sel, qw).reshape(-1, ws * ws, c)
        q = qw.reshape(-1, ws * ws, c)
        vv = window_view(v, ws)[sel].reshape(-1, ws * ws, c)
        f = attend(q, k, vv, project_q, project_k).view(b, keep, ws, ws, c)
        if count is not None:  # static shapes: windows ranked past the drawn count keep vs
            rank = torch.arange(keep, device=v.device).view(1, keep, 1, 1, 1)
            f = torch.where(rank < count, f, window_view(vs, ws)[sel])
        window_view(vs, ws)[sel] = f  # vs is this call's own tensor (v * sa)
        return vs


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
    fl = window_view(flow, ws)[sel]  # B x K x ws x ws x 2
    grid = warp_grid(fl, ys.expand_as(fl[..., 0]), xs.expand_as(fl[..., 0]), h, w)
    k = grid.shape[1]
    out = F.grid_sample(
        x,
        grid.reshape(b, k * ws, ws, 2),
        mode="bilinear",
        padding_mode="border",
        align_corners=True,
    )  # B x C x K*ws x ws
    return out.view(b, c, k, ws, ws).permute(0, 2, 3, 4, 1)


class CAMixer(MixerBase):
    """Content-aware mixer: deformable window attention on complex windows, conv elsewhere."""

    def __init__(self, dim: int, window: int, routing: Routing):
        super().__init__(dim, window, routing)
        self.conv_sptial = nn.Sequential(  # (sic) official name
            nn.Conv2d(dim, dim, 3, padding=1, groups=dim),
            nn.Conv2d(dim, dim, 3, padding=2, groups=dim, dilation=2),
        )
        self.project_out = nn.Conv2d(dim, dim, 1)
        self.act = nn.GELU()
        self.route = Predictor(dim, window, cond_ch=4)

    def forward(self, x, cond_global, cond_window, draws=None):
        b, _, h, w = x.shape
        ws = self.window
        v = self.project_v(x)
        feat, offsets, ca = self.route.features(torch.cat([v, cond_global, cond_window], dim=1))
        n = (h // ws) * (w // ws)
        idx, count = self._select(feat, b, n, draws)
        dense = self.routing.dense_reference
        # with every window attended in place, ``v * sa`` is never used
        vs = v if idx is None else v * self.route.out_SA(feat)

        def keys(sel, xw):  # x plus x warped by the offsets, at the windows xw was cut from
            if sel is None:
                return all_windows(x + flow_warp(x, offsets), ws)
            if dense:
                return window_view(x + flow_warp(x, offsets), ws)[sel]
            return xw + _sampled_keys(x, offsets, sel, ws)

        out = self._mix(x, keys, v, vs, idx, count, self.project_q, self.project_k)
        out = self.act(self.conv_sptial(out)) * ca + out
        return self.project_out(out)
