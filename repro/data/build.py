"""Build a set from members of a zip on the Hub, reading only what it needs (``source.build``).

Test8K (ClassSR) is DIV8K images 1401-1500. Its prepared copy lives on Google Drive; the raw
DIV8K zip (46 GB) lives on the Hub. :mod:`zipfile` on an ``HfFileSystem`` file reads the end
record and the central directory, then only the 100 members (HTTP range requests); each image is
mod-cropped and its LR made with the card's recipe (:data:`~repro.data.schema.BUILD_RECIPES`),
written in the card's first layout into a staged folder that is renamed into place only when
complete. Beside the images, ``.built.json`` records where each came from and the sha256 of
every file written: later loads verify against it, and the set's origin says ``built:``, never
the official files. ``from_zip`` reads a local copy of the zip through the same path.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

from repro.checksums import sha256_file
from repro.data.hub import hub_offline
from repro.data.schema import BUILD_RECIPES, BuildSource, Card, fill
from repro.data.staging import staged_folder
from repro.errors import ChecksumError, DataError, MissingDataError, ReproError
from repro.files import atomic_write_text
from repro.imageio import read_image, to_rgb3, write_image
from repro.progress import progress

MANIFEST = ".built.json"
_FORMAT = 1
#: Bytes each range request reads ahead (fsspec "readahead" cache): large enough to need few
#: round trips per 30 MB member; past the last member needed it over-reads at most this much.
BLOCK_SIZE = 16 << 20
#: Largest member read: an 8K RGB PNG is ~100 MB at most; a larger claim is corrupt or a bomb.
MAX_MEMBER_BYTES = 1 << 30
# a member named by its image's 4-digit index (DIV8K: ".../1401.png")
_INDEXED = re.compile(r"(?:^|/)(\d{4})\.png$", re.IGNORECASE)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Built:
    """A built set as its ``.built.json`` records it."""

    folder: Path
    origin: str  # the Dataset's origin: "built:<source> members a-b, recipe r"
    sha256: dict[str, str]  # relative path -> sha256 of every file written
    bytes_read: int | None  # bytes the build read from the zip (None: not counted)
    fresh: bool = True  # built by this call; False: an earlier build found in place


def build_set(
    card: Card,
    target: str | Path,
    *,
    from_zip: str | Path | None = None,
    fs=None,
    block_size: int = BLOCK_SIZE,
    progress: bool = True,
) -> Built:
    """Build ``card`` into ``target`` from its ``source.build`` zip; return what was recorded.

    The zip is read over HTTP range requests (``fs``: an fsspec file system serving
    ``datasets/<repo>@<revision>/<file>``; default ``HfFileSystem()``), or from a local copy
    ``from_zip`` (checked against the card's sha256 when it has one). ``target`` is complete or
    absent: an existing build is returned as it is; any other existing folder is an error.
    """
    build = card.build
    if build is None:
        raise DataError(f"{card.name} has no source.build in its card; nothing to build it from")
    target = Path(target)
    if target.exists():
        built = read_built(target)
        if built is None:
            raise DataError(
                f"{target} exists and is no build of {card.name}; move it away to build there"
            )
        return replace(built, fresh=False)
    recipe = BUILD_RECIPES[build.recipe]
    opened, where, zip_note = _source(card, build, from_zip, fs, block_size, progress)
    with opened as fh, staged_folder(card, target) as tmp:
        zf = _guard(card, where, lambda: zipfile.ZipFile(fh))
        members = _members(card, build, zf, where)
        records: dict[str, dict] = {}
        written: dict[str, str] = {}
        # in the zip's order: the readahead of one member's last request serves the next
        todo = sorted(members.items(), key=lambda item: item[1].header_offset)
        for name, info in _bar(todo, f"{card.name} from {build.file}", progress):
            records[name] = _copy_member(card, zf, info, where, tmp / f".src-{name}.png")
            hr = to_rgb3(_read_member(card, tmp / f".src-{name}.png", info, where))
            written.update(_write_pair(card, tmp, name, hr, recipe.scale, recipe.rounding))
        cache = getattr(fh, "cache", None)  # fsspec files count what their requests fetched
        bytes_read = getattr(cache, "total_requested_bytes", None)
        origin = f"built:{where} members {build.first:04d}-{build.last:04d}, recipe {build.recipe}"
        manifest = {
            "format": _FORMAT,
            "card": card.name,
            "origin": origin,
            "official": False,
            "source": build.url,
            "zip": zip_note,
            "recipe": build.recipe,
            "bytes_read": bytes_read,
            "members": records,
            "sha256": dict(sorted(written.items())),
        }
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return Built(target, origin, dict(sorted(written.items())), bytes_read)


def read_built(folder: Path) -> Built | None:
    """The record of a set built into ``folder``; None when it is no build (no ``.built.json``)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    redo = f"delete {folder} and build it again"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        origin, sha256 = raw["origin"], raw["sha256"]
        ok = (
            raw.get("format") == _FORMAT
            and isinstance(origin, str)
            and origin.startswith("built:")
            and isinstance(sha256, dict)
            and all(isinstance(k, str) and _SHA256.match(str(v)) for k, v in sha256.items())
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
        ok = False  # RecursionError: JSON nested too deeply for the parser
    if not ok:
        raise DataError(f"{path} is not a build record this version reads; {redo}")
    # its paths are only looked up (for the files found), never opened: no path check needed
    bytes_read = raw.get("bytes_read")
    counted = bytes_read if isinstance(bytes_read, int) else None
    return Built(Path(folder), origin, dict(sha256), counted)


# -- the zip ---------------------------------------------------------------------------------
def _source(card: Card, build: BuildSource, from_zip, fs, block_size: int, progress: bool):
    """(an unopened file context, how provenance names it, what was checked of the zip)."""
    if from_zip is not None:
        path = Path(from_zip)
        if not path.is_file():
            raise DataError(f"--from-zip {from_zip}: no such file; pass a copy of {build.url}")
        if build.sha256 is None:
            note = f"local copy {path.name}, not checked: the card records no sha256"
        else:
            digest = _sha256_shown(path, progress)  # minutes for 46 GB, and then it is certain
            if digest != build.sha256:
                raise ChecksumError(
                    f"--from-zip {path}: sha256 {digest[:12]}..., the card records "
                    f"{build.sha256[:12]}... for {build.url}; it is another file: fetch it again"
                )
            note = f"local copy {path.name}, sha256 as the card records"
        return open(path, "rb"), f"{path.name} (local copy of {build.url})", note
    if hub_offline():
        raise MissingDataError(
            f"{card.name}: building it reads {build.file} from the Hub and HF_HUB_OFFLINE=1 is "
            f"set; unset it, or build from a local copy of {build.url}: repro fetch "
            f"{card.name} --build --from-zip PATH"
        )
    if fs is None:
        from huggingface_hub import HfFileSystem  # deferred: only builds read the Hub

        fs = HfFileSystem()
    hf_path = f"datasets/{build.repo}@{build.revision}/{build.file}"
    opened = _guard(
        card,
        build.url,
        lambda: fs.open(hf_path, "rb", block_size=block_size, cache_type="readahead"),
    )
    # range reads cannot hash the whole zip: the pinned commit names the file, CRC-32 each member
    return opened, build.url, "read by HTTP range requests; members checked by their CRC-32"


def _guard(card: Card, where: str, action):
    """``action()``, with network, HTTP and zip failures as one-line errors."""
    try:
        return action()
    except ReproError:
        raise
    except FileNotFoundError:
        raise MissingDataError(
            f"{card.name}: {where} not found (repo, revision or file); check source.build in the "
            "card"
        ) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise DataError(f"{card.name}: {where} is not a readable zip ({exc})") from None
    except Exception as exc:  # connection, HTTP status, TLS: the build cannot go on
        first = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise MissingDataError(
            f"{card.name}: cannot read {where} ({type(exc).__name__}: {first}); connect and run "
            f"again, or build from a local copy: repro fetch {card.name} --build "
            "--from-zip PATH"
        ) from None


def _members(card: Card, build: BuildSource, zf: zipfile.ZipFile, where: str) -> dict:
    """Image name ("1401") -> the zip member holding it, for every index the card names."""
    found: dict[int, list[zipfile.ZipInfo]] = {}
    for info in zf.infolist():
        match = _INDEXED.search(info.filename)
        if match and not info.is_dir() and "__MACOSX" not in info.filename:
            found.setdefault(int(match.group(1)), []).append(info)
    missing = [i for i in build.indexes if i not in found]
    if missing:
        names = [i.filename for i in zf.infolist()[:5]]
        raise DataError(
            f"{card.name}: {where} holds no member named like NNNN.png for {len(missing)} of the "
            f"images {build.first:04d}-{build.last:04d} (first missing: {missing[0]:04d}); its "
            f"members are named like {names}: check source.build (repo, revision, file, "
            "members) in the card"
        )
    twice = [found[i] for i in build.indexes if len(found[i]) > 1]
    if twice:
        raise DataError(
            f"{card.name}: {where} holds image {int(_INDEXED.search(twice[0][0].filename)[1]):04d} "
            f"more than once ({[i.filename for i in twice[0]]}); fix source.build in the card"
        )
    return {f"{i:04d}": found[i][0] for i in build.indexes}


def _copy_member(card: Card, zf: zipfile.ZipFile, info, where: str, dest: Path) -> dict:
    """Copy one member to ``dest`` (its CRC-32 is checked as it is read); what it was."""
    if info.file_size > MAX_MEMBER_BYTES:
        raise DataError(
            f"{card.name}: {where} member {info.filename} claims {info.file_size:,} bytes, over "
            f"{MAX_MEMBER_BYTES:,} for one image: the zip is corrupt"
        )
    digest = hashlib.sha256()

    def copy() -> None:
        with zf.open(info) as src, open(dest, "wb") as out:
            while block := src.read(1 << 20):
                digest.update(block)
                out.write(block)

    _guard(card, f"{where} member {info.filename}", copy)
    return {
        "member": info.filename,
        "crc32": f"{info.CRC:08x}",
        "bytes": info.file_size,
        "sha256": digest.hexdigest(),
    }


def _read_member(card: Card, path: Path, info, where: str):
    try:
        return read_image(path)
    except DataError as exc:
        raise DataError(f"{card.name}: {where} member {info.filename}: {exc}") from None
    finally:
        path.unlink(missing_ok=True)


def _write_pair(card: Card, folder: Path, name: str, hr, scale: int, rounding: str) -> dict:
    """Write the mod-cropped HR and its LR in the first layout; relative path -> sha256."""
    from repro.data.imresize import make_lr, modcrop  # torch: only when a set is built

    layout = card.layouts[0]
    hr = modcrop(hr, scale)
    images = {layout.hr: hr, layout.lr: make_lr(hr, scale, rounding=rounding)}
    out = {}
    for template, image in images.items():
        rel = fill(template, name=name, scale=scale)  # card templates stay inside (cards.py)
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        write_image(folder / rel, image)
        out[rel] = sha256_file(folder / rel)
    return out


def _sha256_shown(path: Path, progress: bool) -> str:
    """The sha256 of a (large) file, with a progress bar in bytes."""
    if not progress:
        return sha256_file(path)
    from tqdm import tqdm

    digest = hashlib.sha256()
    with (
        open(path, "rb") as f,
        tqdm(
            total=path.stat().st_size,
            desc=f"sha256 {path.name}",
            unit="B",
            unit_scale=True,
            disable=None,  # None: only on a terminal
        ) as bar,
    ):
        while block := f.read(1 << 24):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def _bar(items: list, desc: str, enabled: bool):
    # a bar on a terminal, one line once done elsewhere (no carriage returns in a log)
    return progress(items, desc, len(items)) if enabled else items


def describe_built(built: Built) -> str:
    """One line for the fetch command: what was built and how much was read."""
    if not built.fresh:
        return f"already built, nothing read: {len(built.sha256)} files in {built.folder}"
    read = f", {built.bytes_read / 1e6:,.1f} MB read" if built.bytes_read is not None else ""
    return f"built {len(built.sha256)} files in {built.folder} ({built.origin[6:]}{read})"
