"""The ESC variants: the official constructor arguments of ``options/test/*.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, replace

from repro.errors import ReproError


@dataclass(frozen=True)
class ESCConfig:
    kind: str  # "esc" | "fp" | "real" (which official class)
    dim: int
    pdim: int
    kernel_size: int
    n_blocks: int
    conv_blocks: int
    window_size: int
    num_heads: int
    exp_ratio: float
    upscaling_factor: int = 4
    use_ln: bool = False  # ESC only (ESC-XL): LayerNorm before every ConvFFN

    def official_kwargs(self) -> dict:
        """Constructor arguments as the official class takes them (``attn_type`` aside)."""
        kw = {
            "dim": self.dim,
            "pdim": self.pdim,
            "kernel_size": self.kernel_size,
            "n_blocks": self.n_blocks,
            "conv_blocks": self.conv_blocks,
            "window_size": self.window_size,
            "num_heads": self.num_heads,
            "exp_ratio": self.exp_ratio,
            "upscaling_factor": self.upscaling_factor,
        }
        if self.use_ln:
            kw["use_ln"] = True
        return kw


VARIANTS: dict[str, ESCConfig] = {
    "fp": ESCConfig("fp", 48, 16, 13, 5, 5, 32, 3, 1.25),
    "light": ESCConfig("esc", 64, 16, 13, 3, 5, 32, 4, 1.25),
    "base": ESCConfig("esc", 64, 16, 13, 5, 5, 32, 4, 1.25),
    "xl": ESCConfig("esc", 192, 48, 13, 8, 5, 48, 12, 1.25, use_ln=True),
    "real": ESCConfig("real", 64, 16, 13, 10, 5, 32, 4, 2.0),
}
VARIANT_SCALES = {
    "fp": (2, 3, 4),
    "light": (2, 3, 4),
    "base": (2, 3, 4),
    "xl": (2, 3, 4),
    "real": (4,),
}
MODEL_IDS = {
    "fp": "esc-fp",
    "light": "esc-light",
    "base": "esc",
    "xl": "esc-xl",
    "real": "esc-real",
}


def config(variant: str, scale: int) -> ESCConfig:
    if variant not in VARIANTS:
        raise ReproError(f"unknown ESC variant '{variant}'; known: {', '.join(VARIANTS)}")
    if scale not in VARIANT_SCALES[variant]:
        raise ReproError(
            f"ESC variant '{variant}' has no x{scale} model; scales: "
            + ", ".join(f"x{s}" for s in VARIANT_SCALES[variant])
        )
    return replace(VARIANTS[variant], upscaling_factor=scale)
