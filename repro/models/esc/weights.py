"""The released ESC checkpoints (GitHub release 1.0.0 of dslisleedh/ESC; the test configs'
file names)."""

from __future__ import annotations

from repro.weights.entry import WeightsEntry

OFFICIAL_REPO = "dslisleedh/ESC"
RELEASE_URL = "https://github.com/dslisleedh/ESC/releases/download/1.0.0/"

# sha256 of release assets where a public source states it: filename -> (sha256, source).
# The other assets' sha256 is not published anywhere we could find (stays None: `pull` asks for
# --trust-unverified and records what was downloaded in the weights lock).
_SHA256 = {
    "ESC_Real_X4_GAN.pth": (
        "d6932bd01e29c9335f5f678b0e9b31ede906a42244887ab8888b1d39a8667f2d",
        "dmlsrc/KinoVSR@4b90cc1 kinovsr/processors/esc/weights/README.md (sha256 of the release "
        "asset releases/download/1.0.0/ESC_Real_X4_GAN.pth; also dmlsrc/LTX-2-MLX@43b9cbd)",
    ),
}


def _entry(entry_id: str, filename: str, what: str) -> WeightsEntry:
    sha256, sha256_source = _SHA256.get(filename, (None, ""))
    return WeightsEntry(
        id=entry_id,
        filename=filename,
        urls=(RELEASE_URL + filename,),
        sha256=sha256,
        key="params_ema",
        source=f"{OFFICIAL_REPO} GitHub release 1.0.0, {filename} ({what})",
        sha256_source=sha256_source,
    )


WEIGHTS: dict[str, WeightsEntry] = {}
for _s in (2, 3, 4):
    WEIGHTS[f"esc-fp-x{_s}"] = _entry(f"esc-fp-x{_s}", f"ESC_FP_X{_s}.pth", "ESC-FP, DIV2K")
    WEIGHTS[f"esc-light-x{_s}"] = _entry(
        f"esc-light-x{_s}", f"ESC_light_X{_s}.pth", "ESC-light, DIV2K"
    )
    WEIGHTS[f"esc-x{_s}"] = _entry(f"esc-x{_s}", f"ESC_DIV2K_X{_s}.pth", "ESC, DIV2K")
    WEIGHTS[f"esc-x{_s}-dflip"] = _entry(
        f"esc-x{_s}-dflip", f"ESC_DFLIP_X{_s}.pth", "ESC, DFLIP (data scaling)"
    )
    WEIGHTS[f"esc-xl-x{_s}"] = _entry(
        f"esc-xl-x{_s}", f"ESC_XL_DF2K_X{_s}_FT.pth", "ESC-XL, DF2K, fine-tuned 96x96"
    )
WEIGHTS["esc-real-x4"] = _entry("esc-real-x4", "ESC_Real_X4_GAN.pth", "ESC-Real, GAN stage")

# The checkpoint each variant loads by default (the scale goes in the braces).
DEFAULTS = {"fp": "esc-fp-x{}", "light": "esc-light-x{}", "base": "esc-x{}"}
DEFAULTS |= {"xl": "esc-xl-x{}", "real": "esc-real-x{}"}
