"""Open a dataset by its card: local data roots first, then the card's pinned Hub snapshot.

Data flows one way: card -> folder -> :class:`~repro.data.dataset.Dataset` -> samples. A Hub
snapshot's parquet tables and archives are first written to the repro cache.
"""

from __future__ import annotations

import os
from pathlib import Path

from repro.data.archives import extract_archives
from repro.data.build import read_built
from repro.data.cards import get_card
from repro.data.dataset import Dataset, match_layout
from repro.data.hub import hub_snapshot, missing_data_advice, snapshot_commit
from repro.data.parquet import materialise_parquet
from repro.data.schema import Card, HubSource, fill
from repro.errors import DataError, MissingDataError
from repro.paths import cache_dir, labelled_data_roots


def require_in_data_root(data_root: str | os.PathLike | None, names: list[str]) -> None:
    """An explicit ``--data-root`` must hold at least one of the datasets asked for.

    Otherwise a mistyped or empty folder would be passed over for REPRO_DATA, shared/data or
    the Hub without a word: the user would score data they did not point at.
    """
    if not data_root:
        return
    root = labelled_data_roots(data_root)[0][1]
    cards = [get_card(n) for n in names]
    if any((root / sub).is_dir() for card in cards for sub in card.local_dirs):
        return
    wanted = ", ".join(f"{root}/{card.local_dirs[0]}" for card in cards[:3])
    raise DataError(
        f"--data-root {data_root} holds none of the datasets asked for (expected {wanted}"
        f"{', ...' if len(cards) > 3 else ''}); point it at the folder that holds them"
    )


def open_dataset(
    name: str,
    scale: int,
    *,
    data_root: str | os.PathLike | None = None,
    lr_mode: str = "official",
    rounding: str = "matlab",
    use_hub: bool = True,
) -> Dataset:
    """Find ``name`` at ``scale``: local roots first, then the Hub; raise DataError if absent.

    A ``data_root`` (``--data-root``) or ``REPRO_DATA`` entry that does not exist is an error.
    """
    card = get_card(name)
    if scale not in card.scales:
        raise DataError(
            f"{card.name} is not used at x{scale} in the papers (scales: {list(card.scales)}); "
            "pick one of those"
        )
    tried, skipped = [], []
    for label, root in labelled_data_roots(data_root):
        for sub in card.local_dirs:
            folder = root / sub
            tried.append(str(folder))
            subset = card.subsets.get(sub)
            if folder.is_dir() and subset is not None and subset.lr_full_size and scale != 1:
                # a same-size LR/HR copy cannot feed an xN model: look on, and say why
                skipped.append(
                    f"skipped {folder}: its LR is pre-upsampled to the HR's size, not 1/{scale}"
                )
                continue
            if folder.is_dir():
                layout = match_layout(card, folder, scale)
                if layout is None:
                    # never fall through to another copy: the user would score data they
                    # did not mean, and this folder's problem would go unnoticed
                    expected = "; ".join(
                        " + ".join(t for t in (lay.hr, lay.lr) if t) for lay in card.layouts
                    )
                    raise DataError(
                        f"{folder} holds none of {card.name}'s layouts at x{scale} (expected "
                        f"{fill(expected, scale=scale, view=(card.layouts[0].views or ('',))[0])}"
                        "); fix the folder or move it away"
                    )
                built = read_built(folder)  # built here from a raw source: says so, verified
                return Dataset(
                    card,
                    folder,
                    layout,
                    scale,
                    lr_mode=lr_mode,
                    rounding=rounding,
                    label=f"{label}/{sub}",
                    origin=built.origin if built else "local",
                    recorded=built.sha256 if built else None,
                )
    looked = f"looked in {', '.join(tried[:4])}{', ...' if len(tried) > 4 else ''}"
    looked += "".join(f"; {why}" for why in skipped)
    if use_hub and card.hub is not None and card.hub.revision is not None:
        try:
            folder = hub_snapshot(card)
        except MissingDataError as exc:
            raise MissingDataError(f"dataset {card.name} not found ({looked}); {exc}") from None
        return open_hub(card, folder, scale, lr_mode=lr_mode, rounding=rounding)
    raise MissingDataError(f"dataset {card.name} not found ({looked}); {missing_data_advice(card)}")


def open_hub(card: Card, folder: Path, scale: int, *, lr_mode: str, rounding: str) -> Dataset:
    """The Dataset of a Hub snapshot: parquet tables and archives first written to the cache."""
    import huggingface_hub.constants as hfc  # deferred: local sets never need the Hub client

    hub: HubSource = card.hub  # type: ignore[assignment]
    commit = snapshot_commit(card, folder)
    for layout in card.layouts:
        if layout.parquet:
            folder = materialise_parquet(card, layout, folder)
            break
    else:
        folder = extract_archives(card, folder)
    bases = [("<repro-cache>", cache_dir()), ("<hf-cache>", Path(hfc.HF_HUB_CACHE))]
    layout = match_layout(card, folder, scale)
    if layout is None:
        raise DataError(
            f"{card.name}: the Hub snapshot {_label(folder, bases)} matches none of the card's "
            "layouts; put the set in a local folder (--data-root)"
        )
    return Dataset(
        card,
        folder,
        layout,
        scale,
        lr_mode=lr_mode,
        rounding=rounding,
        origin=f"hub:{hub.repo}@{commit}",
        label=_label(folder, bases),
    )


def _label(path: Path, bases: list[tuple[str, Path]]) -> str:
    """``<base label>/relative/path`` for provenance; ``<elsewhere>/<name>`` when under none."""
    resolved = path.resolve()
    for label, base in bases:
        base = Path(base).expanduser().resolve()
        if resolved.is_relative_to(base):
            rel = resolved.relative_to(base).as_posix()
            return label if rel == "." else f"{label}/{rel}"
    return f"<elsewhere>/{path.name}"
