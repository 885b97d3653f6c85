"""The licence of each architecture's code in spandrel 0.4 (its ``architectures/<id>/__arch/
LICENSE`` files, chaiNNer-org/spandrel @ b0c3eb2), recorded with every result of a spandrel
model. It is the licence of the network's code; a checkpoint's own terms are its publisher's.
spandrel itself is MIT; its non-commercial architectures live in ``spandrel_extra_arches``,
which this suite does not load.
"""

from __future__ import annotations

APACHE, MIT, BSD3 = "Apache-2.0", "MIT", "BSD-3-Clause"

ARCHITECTURE_LICENCES: dict[str, str] = {
    "ATD": APACHE,
    "AuraSR": "CC-BY-SA-4.0",
    "CRAFT": APACHE,
    "Compact": BSD3,
    "DAT": APACHE,
    "DCTLSA": APACHE,
    "DITN": APACHE,
    "DRCT": MIT,
    "DRUNet": MIT,
    "DnCNN": MIT,
    "ESRGAN": APACHE,
    "FBCNN": APACHE,
    "FDAT": MIT,
    "FFTformer": MIT,
    "GFPGAN": APACHE + " (with third-party components)",
    "GRL": MIT,
    "HAT": MIT,
    "HVICIDNet": MIT,
    "IPT": APACHE,
    "KBNet": MIT,
    "LaMa": APACHE,
    "MMRealSR": BSD3,
    "MixDehazeNet": MIT,
    "MoESR": MIT,
    "MoSR": MIT,
    "NAFNet": MIT,
    "OmniSR": APACHE,
    "PLKSR": MIT,
    "RCAN": MIT,
    "RGT": APACHE,
    "RealCUGAN": MIT,
    "RestoreFormer": APACHE + " (with third-party components)",
    "RetinexFormer": MIT,
    "SAFMN": APACHE,
    "SAFMNBCIE": APACHE,
    "SCUNet": APACHE,
    "SPAN": APACHE,
    "SeemoRe": APACHE,
    "SwiftSRGAN": "CC0-1.0",
    "Swin2SR": APACHE,
    "SwinIR": APACHE,
    "Uformer": MIT,
}


def licence(architecture: str) -> str:
    return ARCHITECTURE_LICENCES.get(
        architecture, f"not listed here: see spandrel's architectures/{architecture}/__arch/"
    )
