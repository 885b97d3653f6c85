"""The released IMDN checkpoints: plain files in the official repository (Zheng222/IMDN,
``checkpoints/IMDN_x{2,3,4}.pth``), fetched at a pinned commit.

The sha256 of each file is computed from its git blob at that commit (the commit's hash pins
the blob's bytes, so a download that differs is not the published file).
"""

from __future__ import annotations

from repro.weights.entry import WeightsEntry

COMMIT = "8f158e6a5ac9db6e5857d9159fd4a6c4214da574"
_RAW = f"https://github.com/Zheng222/IMDN/raw/{COMMIT}/checkpoints/"
# scale -> (sha256 of the file, its git blob id, bytes)
_FILES = {
    2: (
        "740b39653592bd3f49955a21cd9e16f2d37f2c413368cc09327601b8fbe42ce1",
        "51d924747d0abd4873d18960efe60e04b1c980b0",
        2796052,
    ),
    3: (
        "11b1716a19bc16e5e353e1db798d476169338e631eb170c82d765559888cb028",
        "57e87c7f9e5742f1eed273d5fd9da23ef353cb78",
        2830672,
    ),
    4: (
        "e660c38221147217a136debeb99eb304d62d9c0f73ac421ed66281b619719714",
        "3b9bf90db6985f7f97015a6629d001c46f3e2c33",
        2879112,
    ),
}
LICENCE = "none stated by the publisher (the repository has no licence file)"


def _entry(scale: int) -> WeightsEntry:
    sha256, blob, size = _FILES[scale]
    filename = f"IMDN_x{scale}.pth"
    return WeightsEntry(
        id=f"imdn-x{scale}",
        filename=filename,
        urls=(_RAW + filename,),
        sha256=sha256,
        key=None,
        source=f"Zheng222/IMDN@{COMMIT[:7]} checkpoints/{filename} (DIV2K, bicubic)",
        sha256_source=f"the git blob {blob[:10]} of checkpoints/{filename} at Zheng222/IMDN@"
        f"{COMMIT[:7]}",
        size=size,
    )


WEIGHTS: dict[str, WeightsEntry] = {f"imdn-x{s}": _entry(s) for s in _FILES}
