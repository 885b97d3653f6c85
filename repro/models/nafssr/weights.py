"""The released NAFSSR checkpoints (Google Drive / Baidu links of the official repository)."""

from __future__ import annotations

from repro.models.nafssr.arch import SCALES, VARIANTS
from repro.weights.entry import WeightsEntry

_REPO = "megvii-research/NAFNet @ 2b4af71, docs/StereoSR.md"
# (variant, scale) -> (Google Drive file id, Baidu share id, Baidu extraction code)
_RELEASES = {
    ("t", 4): ("1owfYG1KTXFMl4wHpUZefWAcVlBpLohe5", "1yC5XzJcL5peC1YuW3MkFMA", "5j1u"),
    ("s", 4): ("1RpfS2lemsgetIQwBwkZpZwLBJfOTDCU5", "1XvwM5KVhNsKAxWbxU85SFA", "n5au"),
    ("b", 4): ("1Su0OTp66_NsXUbqTAIi1msvsp0G5WVxp", "18tVlH-QIVtvDC1LM2oPatw", "3up5"),
    ("l", 4): ("1TIdQhPtBrZb2wrBdAp9l8NHINLeExOwb", "1P8ioEuI1gwydA2Avr3nUvw", "qs7a"),
    ("t", 2): ("1sBivtt5KaFMjMhBwyajYy1uemIEFQBvW", "1RDW923v0e0G_eYvTF8I7Dg", "utgs"),
    ("s", 2): ("1caVrp3fFSpwiU8RPGXe-zDD1tU110yxA", "1qJmQzv-YV1V9raim57pTIQ", "t2or"),
    ("b", 2): ("1gOfDTfyCaff_xNm86u8sN_3MtAZvnQEk", "1IkadqW1uWx9xM5K2ETJ9-A", "pv1f"),
    ("l", 2): ("1SZ6bQVYTVS_AXedBEr-_mBCC-qGYHLmf", "1GS6YQSSECH8hAKhvzw6GyQ", "2v3v"),
}


# sha256 where a public source states it: (variant, scale) -> (sha256, source). The official
# files are on Google Drive/Baidu, which publish no digest; these come from the Git LFS pointers
# of a third-party copy of the Drive files (sizes 96,438,421 and 96,604,501 bytes, the x4-x2
# difference exactly the larger x4 upsampler: 41,508 float32 parameters, NAFSSR-L's 4,100
# tensors under `params`). The other variants' sha256 are not published.
_LFS_COPY = "marduk191/ComfyUI-NAFNet_plus@bccb86d"
_SHA256 = {
    ("l", 2): (
        "29d22ff966a6c069ef0db4fa2cb7a22d96f68a05f85c02d3255d55c30cc415f6",
        f"Git LFS pointer {_LFS_COPY} models/NAFSSR-L_2x.pth (a copy of the Drive file)",
    ),
    ("l", 4): (
        "7298e608e689449cb4408b9caf7aeb587c5a39e7c95514808821111e1daa17f4",
        f"Git LFS pointer {_LFS_COPY} models/NAFSSR-L_4x.pth (a copy of the Drive file)",
    ),
}


def _weights_entry(variant: str, scale: int) -> WeightsEntry:
    drive, baidu, code = _RELEASES[(variant, scale)]
    sha256, sha256_source = _SHA256.get((variant, scale), (None, ""))
    return WeightsEntry(
        id=f"nafssr-{variant}-x{scale}",
        filename=f"NAFSSR-{variant.upper()}_{scale}x.pth",  # as the official test yml names it
        # Google Drive/Baidu share pages are not direct downloads: fetch by hand, --weights PATH
        urls=(),
        sha256=sha256,
        key="params",
        source=(
            f"Google Drive https://drive.google.com/file/d/{drive}/view?usp=sharing "
            f"or Baidu https://pan.baidu.com/s/{baidu}?pwd={code} (code {code}) "
            f"[links from {_REPO}; no direct download]"
        ),
        sha256_source=sha256_source,
    )


WEIGHTS: dict[str, WeightsEntry] = {
    e.id: e for e in (_weights_entry(v, s) for v in VARIANTS for s in SCALES)
}
