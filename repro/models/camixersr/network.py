"""What CAMixerSR and CAMixerOSR share: the constructor, gamma / mode / seed, padding, the
official mode's random draws."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.errors import ReproError
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
        # the private random stream (seed not None), made here and remade where the model moves
        # (``_apply``), never during a forward; ``_session`` holds a session's stream, if any
        self._generator = torch.Generator()
        self._session: tuple[torch.Generator | None] | None = None
        self.routing = Routing(
            check_ratio(ratio), check_mode(mode), check_seed(seed), osr_rule=self.osr_rule
        )
        self.head = nn.Conv2d(n_colors, n_feats, 3, 1, 1)
        self._build_body(n_group)
        self.tail = nn.Sequential(
            nn.Conv2d(n_feats, n_colors * scale**2, 3, 1, 1), nn.PixelShuffle(scale)
        )
        for i, m in enumerate(self.mixers()):
            m.index = i

    def _build_body(self, n_group: int) -> None:
        raise NotImplementedError

    @property
    def min_input_size(self) -> int:
        """Smallest LR height/width accepted: the reflect padding to a multiple of the window
        (:meth:`_pad`) needs more than half a window of image (read by tiled inference)."""
        return self.window_size // 2 + 1

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

        ``attended`` lists, per image, the attended window ids (row-major) in rank order. The
        forward keeps counts as device tensors (no host sync); they are read back here.
        """
        log = []
        for i, m in enumerate(self.mixers()):
            s = m.last_selection
            if s is None:
                continue
            keep, idx, picked = int(s["num_keep"]), s["idx"], s["picked"]
            # None: all windows, in place
            attended = None if idx is None else idx[:, :keep].tolist()
            log.append(
                {
                    "block": i,
                    "windows": s["windows"],
                    "picked": None if picked is None else int(picked),
                    "num_keep": keep,
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
        prev = self._session
        self._session = (None if seed is None else self._generator.manual_seed(int(seed)),)
        try:
            yield
        finally:
            self._session = prev

    def _stream(self) -> torch.Generator | None:
        """Where this call's draws come from: the session's stream, else the private generator
        reset to ``seed`` (the same numbers on every call), else (seed None) the global RNG."""
        if self._session is not None:
            return self._session[0]
        seed = self.routing.seed
        return None if seed is None else self._generator.manual_seed(seed)

    def draw(self, x: torch.Tensor) -> torch.Tensor | None:
        """The random numbers one official-mode forward of ``x`` consumes, drawn now from the
        model's stream (:meth:`_stream`); None in deterministic mode.

        One exponential(1) sample of B x N x 2 per block (N windows of the padded input), in
        block order, stacked: what each block's ``F.gumbel_softmax`` draws officially, the same
        numbers in the same order (nothing else in the forward is random). ``forward(x)`` draws
        them itself; a traced or CUDA-graph-captured forward takes them as ``draws=`` instead,
        drawn outside the graph (dynamo cannot trace a private generator).
        """
        if self.routing.mode != "official":
            return None
        _, b, n, _ = shape = self._draws_shape(x)
        gen = self._stream()
        return torch.stack(
            [
                torch.empty((b, n, 2), dtype=x.dtype, device=x.device).exponential_(generator=gen)
                for _ in range(shape[0])
            ]
        )

    def _draws_shape(self, x: torch.Tensor) -> tuple[int, int, int, int]:
        """blocks x B x N x 2, N the 16 x 16 windows of ``x`` once padded."""
        b, _, h, w = x.shape
        ws = self.window_size
        return (sum(self.n_block), b, math.ceil(h / ws) * math.ceil(w / ws), 2)

    def _draws(self, x: torch.Tensor, draws: torch.Tensor | None) -> torch.Tensor | None:
        """This call's draws: ``draws`` as given (checked), or :meth:`draw` (official mode)."""
        if self.routing.mode != "official":
            return None
        if draws is None:
            return self.draw(x)
        shape = self._draws_shape(x)
        if tuple(draws.shape) != shape:
            raise ReproError(
                f"draws must have shape {shape} for an input of {tuple(x.shape)}, got "
                f"{tuple(draws.shape)}; make them with model.draw(x)"
            )
        return draws

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        device = self.head.weight.device
        if device.type != "meta" and self._generator.device != device:
            self._generator = torch.Generator(device=device)  # draws are made where x lives
        return self

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ws = self.window_size
        ph = (ws - h % ws) % ws
        pw = (ws - w % ws) % ws
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), "reflect")
        return x
