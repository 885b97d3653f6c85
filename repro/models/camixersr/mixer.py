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


class MixerBase(nn.Module):
    """Selection and sparse attention shared by CAMixer (SR) and its 360-degree variant, and
    their first layers (``project_v``, ``project_q``, ``project_k``, in the official order)."""

    def __init__(self, dim: int, window: int, routing: Routing):
        super().__init__()
        self.dim = dim
        self.window = window
        self.routing = routing
        self.last_selection: dict | None = None
        self.project_v = nn.Conv2d(dim, dim, 1)
        self.project_q = nn.Linear(dim, dim)
        self.project_k = nn.Linear(dim, dim)

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
                mask = gumbel_picks(score, routing.generator)
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
            f = attend(
                all_windows(q_src, ws),
                all_windows(k, ws),
                all_windows(v, ws),
                project_q,
                project_k,
            )
            return merge_windows(f, b, h, w, ws)
        nw = w // ws
        bi = torch.arange(b, device=v.device).view(b, 1).expand_as(idx)
        hi = torch.div(idx, nw, rounding_mode="floor")
        wi = idx - hi * nw
        sel = (bi, hi, wi)
        q = window_view(q_src, ws)[sel].reshape(-1, ws * ws, c)
        k = k_fn(sel).reshape(-1, ws * ws, c)
        vv = window_view(v, ws)[sel].reshape(-1, ws * ws, c)
        f = attend(q, k, vv, project_q, project_k)
        out = vs.clone() if vs is v else vs
        window_view(out, ws)[sel] = f.view(b, -1, ws, ws, c)
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
                return window_view(x + flow_warp(x, offsets), ws)[sel]
            return window_view(x, ws)[sel] + _sampled_keys(x, offsets, sel, ws)

        out = self._mix(x, keys, v, vs, keep, idx, self.project_q, self.project_k)
        out = self.act(self.conv_sptial(out)) * ca + out
        return self.project_out(out)
