"""What CAMixerSR and CAMixerOSR share: the constructor, gamma / mode / seed, padding, RNG."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.models.camixersr.blocks import WINDOW
from repro.models.camixersr.mixer import MixerBase
from repro.models.camixersr.routing import Routing, check_mode, check_ratio, check_seed

VARIANTS = {  # variant -> (n_feats, n_block)
    "s": (36, (4, 4, 6, 6)),
    "m": (48, (4, 4, 6, 6)),
    "b": (60, (4, 4, 6, 6)),
    "osr": (60, (6, 6, 6, 6)),
}


def _routed(name: str, check: Callable[[Any], Any], doc: str) -> property:
    """A model setting that lives on the model's Routing, checked when set."""
    return property(
        lambda self: getattr(self.routing, name),
        lambda self, value: setattr(self.routing, name, check(value)),
        doc=doc,
    )


class CAMixerNet(nn.Module):
    """The constructor and the controls (gamma, mode, seed, RNG, padding) of both networks.

    The official CAMixerSR and CAMixerOSR take the same arguments and share ``head`` and
    ``tail``; a subclass builds what lies between in :meth:`_build_body`, in the official order,
    so the state dict holds the official keys in the official order.
    """

    default_n_block: tuple[int, ...]
    osr_rule = False  # CAMixerOSR's official keep rule (see Routing)

    def __init__(
        self,
        n_block: Sequence[int] | None = None,
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
        self.n_block = tuple(self.default_n_block if n_block is None else n_block)
        self._session = False
        self.routing = Routing(
            check_ratio(ratio), check_mode(mode), check_seed(seed), osr_rule=self.osr_rule
        )
        self.head = nn.Conv2d(n_colors, n_feats, 3, 1, 1)
        self._build_body(n_group)
        self.tail = nn.Sequential(
            nn.Conv2d(n_feats, n_colors * scale**2, 3, 1, 1), nn.PixelShuffle(scale)
        )

    def _build_body(self, n_group: int) -> None:
        raise NotImplementedError

    ratio = _routed("ratio", check_ratio, "gamma, the share of attended windows, in [0, 1]")
    mode = _routed("mode", check_mode, "window selection: 'official' or 'deterministic'")
    seed = _routed("seed", check_seed, "seed of the official mode's draws (None: global RNG)")

    def set_ratio(self, ratio: float):
        """Change gamma (share of attended windows) for the following calls; returns self."""
        self.ratio = ratio
        return self

    def set_mode(self, mode: str):
        self.mode = mode
        return self

    def mixers(self) -> list[MixerBase]:
        return [m for m in self.modules() if isinstance(m, MixerBase)]

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
            self.routing.generator = None if seed is None else make_generator(seed, self)
            yield
        finally:
            self._session = False
            self.routing.generator = prev

    @contextlib.contextmanager
    def _call_rng(self, device: torch.device) -> Iterator[None]:
        if self._session or self.routing.mode != "official":
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


def make_generator(seed: int, model: nn.Module) -> torch.Generator:
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    return torch.Generator(device=device).manual_seed(int(seed))
