"""``repro fetch`` and ``repro verify``: get a dataset, check its files.

What ``fetch`` downloads, where it puts it and how it verifies it: :mod:`repro.data.fetch`.
``verify`` reports every file of a set by what it was checked against: the card's published
sha256, the dataset lock (trust on first use, written by ``fetch``), a build record, or nothing.
A fetched set is also compared with every file its lock lists: one missing, changed or not
listed (extra) is an error (exit 2), not "all good".
"""

from __future__ import annotations

from repro.cli.output import print_json
from repro.errors import ChecksumError, ReproError


def cmd_fetch(args) -> int:
    from repro.data.cards import get_card
    from repro.data.fetch import fetch, fetch_target

    if args.from_zip and not args.build:
        raise ReproError("--from-zip goes with --build (a local copy of the zip to build from)")
    if args.build:
        from repro.data.build import build_set, describe_built

        card = get_card(args.dataset)
        built = build_set(
            card, fetch_target(card, args.data_root), from_zip=args.from_zip, progress=not args.json
        )
        if args.json:
            print_json({"dataset": card.name, "built": describe_built(built)})
        else:
            print(f"{card.name}: {describe_built(built)}")
        return 0
    got = fetch(args.dataset, args.scale, data_root=args.data_root, progress=not args.json)
    if args.json:
        print_json(got.as_dict())
        return 0
    name, lock = got.card.name, got.as_dict()["lock"]
    if got.verified == "present":
        print(
            f"{name}: already here, {got.label} ({got.files} images): nothing fetched; "
            f"repro verify {name} checks its files"
        )
        return 0
    size = f", {got.size / 1e6:.1f} MB" if got.size is not None else ""
    sha = f", sha256 {got.archive_sha256}" if got.archive_sha256 else ""
    print(f"{name}: fetched from {got.source}{size}{sha}")
    if got.first_use:
        print(
            f"{name}: trust on first use: nobody published a sha256 for this source, so the "
            f"sha256 of {'the archive and of ' * bool(sha)}its {got.files} files are recorded "
            f"in {lock}; every later fetch and load is checked against them"
        )
    elif got.verified == "card":
        print(f"{name}: the archive's sha256 is the one the card publishes")
    else:
        print(f"{name}: the same files as the first fetch recorded in {lock}")
    card_part = f", {got.by_card} checked against the card" if got.by_card else ""
    note = f" ({got.note})" if got.note else ""
    print(f"{name}: {got.files} files in {got.label}{card_part}{note}; runs find it there")
    return 0


def _audit(data) -> None:
    """Every file the dataset lock lists, present and unchanged, and no other: else an error."""
    lock = data.lock
    found = {kind: rels for kind, rels in lock.audit(data.root).items() if rels}
    if not found:
        return
    parts = [
        f"{len(rels)} {kind} ({', '.join(rels[:3])}{', ...' if len(rels) > 3 else ''})"
        for kind, rels in found.items()
    ]
    raise ChecksumError(
        f"{data.card.name} in {data.label} differs from its dataset lock "
        f"{lock.provenance()['lock']} ({len(lock.files)} files): {'; '.join(parts)}; delete "
        f"{data.label} and run repro fetch {data.card.name} again (an extra file: "
        "move it out of the folder)"
    )


def cmd_verify(args) -> int:
    from repro.data.cards import get_card
    from repro.data.loaders import open_dataset, require_in_data_root

    card = get_card(args.dataset)
    scale = args.scale if args.scale is not None else card.scales[0]
    require_in_data_root(args.data_root, [card.name])
    data = open_dataset(card.name, scale, data_root=args.data_root)
    if data.lock is not None:
        _audit(data)
    for name in data.names:
        data.verify(name)
    files = sorted(data.file_sha256)
    by_card = [rel for rel in files if rel in card.sha256]
    by_build = [rel for rel in files if rel not in card.sha256 and rel in data.recorded]
    lock = data.lock.files if data.lock is not None else {}
    by_lock = [r for r in files if r in lock and r not in card.sha256 and r not in data.recorded]
    verified = len(files) - data.unverified
    out = {
        **data.describe(),
        "files": len(files),
        "verified": verified,
        "checked_against_card": len(by_card),
        "checked_against_lock": len(by_lock),
        "checked_against_build": len(by_build),
        "unverified": data.unverified,
    }
    if args.json:
        print_json(out)
        return 0
    parts = [f"{len(by_card)} against the card"]
    if data.lock is not None:
        p = data.lock.provenance()
        parts.append(
            f"{len(by_lock)} against the dataset lock {p['lock']} ({p['verified']}, fetched "
            f"{p['recorded'][:10]} from {p['source']})"
        )
    if by_build:
        parts.append(f"{len(by_build)} against its build record")
    parts.append(f"{data.unverified} without a recorded sha256")
    print(f"{card.name} x{scale} in {data.root}: {len(files)} files: {', '.join(parts)}; all good")
    return 0
