"""The Hugging Face Hub as a dataset source: one reachability probe per process, then snapshots.

Without a network, every (row, dataset) of a table would otherwise wait for its own timeout;
after the first failure only the local HF cache is consulted. ``HF_HUB_OFFLINE`` is honoured.
"""

from __future__ import annotations

from pathlib import Path

from repro.data.schema import Card, HubSource
from repro.errors import MissingDataError

#: Seconds a Hub request may wait (the reachability probe and snapshot_download's etag_timeout).
HUB_TIMEOUT = 5.0
# Whether the Hub answers is decided once per process: without a network, every (row, dataset)
# of a table would otherwise retry for ~20 s each. None: not probed yet; "": reachable.
_hub_down: str | None = None
# exception class names (anywhere in the cause chain) that mean "no connection", for the
# requests- and httpx-based huggingface_hub releases alike (not bare timeouts: a filelock
# Timeout on the HF cache is no network failure)
_NETWORK_ERRORS = frozenset(
    {"ConnectError", "ConnectionError", "ConnectTimeout", "TimeoutException", "NetworkError"}
)


def reset_hub_state() -> None:
    """Forget the reachable-or-not decision about the Hub (tests; a process that reconnected)."""
    global _hub_down
    _hub_down = None


def hub_offline() -> bool:
    import huggingface_hub.constants as hfc

    check = getattr(hfc, "is_offline_mode", None)  # newer releases; older: the constant
    return bool(check()) if callable(check) else bool(hfc.HF_HUB_OFFLINE)


def _probe_hub() -> str:
    """One short request to the Hub endpoint, no retries: "" if it answers, else why not."""
    import huggingface_hub.constants as hfc
    from huggingface_hub.utils import get_session

    try:  # any HTTP status means reachable; snapshot_download then reports 404s and the like
        get_session().head(hfc.ENDPOINT, timeout=HUB_TIMEOUT)
    except Exception as exc:  # refused, DNS, timeout, TLS: the Hub cannot be used from here
        return f"{hfc.ENDPOINT} unreachable: {type(exc).__name__}"
    return ""


def _connection_failure(exc: BaseException | None) -> str | None:
    """The name of the "no connection" error in ``exc``'s cause chain, if there is one."""
    for _ in range(8):  # e.g. LocalEntryNotFoundError raised from httpx's ConnectError
        if exc is None:
            return None
        if any(cls.__name__ in _NETWORK_ERRORS for cls in type(exc).__mro__):
            return type(exc).__name__
        exc = exc.__cause__ or exc.__context__
    return None


def missing_data_advice(card: Card) -> str:
    """The advice every missing-data message ends with."""
    # an archive set is never downloaded behind the user's back: the command is named instead
    fetchable = card.archive is not None and card.archive.manual is None
    pinned = card.hub is not None and card.hub.revision is not None
    fetch = f"repro fetch {card.name} fetches it; or " if fetchable and not pinned else ""
    return (
        f"{fetch}get it from {card.source_hint()} and put it in <data root>/{card.local_dirs[0]}: "
        "pass --data-root <data root>, list the folder in REPRO_DATA, or set REPRO_SHARED to a "
        "folder whose data/ holds it"
    )


def hub_snapshot(card: Card) -> Path:
    """Download (or find in the HF cache) the card's pinned Hub snapshot; honours HF_HUB_OFFLINE.

    After the first failed connection in this process, only the local HF cache is consulted.
    """
    global _hub_down
    hub: HubSource = card.hub  # type: ignore[assignment]
    if hub.revision is None:
        raise MissingDataError(
            f"{card.name}: its Hub source {hub.repo} has no pinned revision; put the set in a "
            "local folder (--data-root) or pin a revision in the card"
        )
    from huggingface_hub import snapshot_download

    offline = hub_offline()
    if not offline and _hub_down is None:
        _hub_down = _probe_hub()
    local_only = offline or bool(_hub_down)
    try:
        folder = snapshot_download(
            repo_id=hub.repo,
            repo_type=hub.repo_type,
            revision=hub.revision,
            allow_patterns=list(hub.allow_patterns) or None,
            etag_timeout=HUB_TIMEOUT,
            local_files_only=local_only,
        )
    except Exception as exc:  # not cached, unknown repo or revision, network errors
        lost = None if local_only else _connection_failure(exc)
        if lost:
            _hub_down = f"connection lost: {lost}"
        if offline:
            why = "HF_HUB_OFFLINE=1 and not in the HF cache"
        elif _hub_down:
            why = f"{_hub_down}; not in the HF cache"
        else:
            why = type(exc).__name__
        raise MissingDataError(
            f"{card.name}: cannot get {hub.repo}@{hub.revision[:8]} from the Hub ({why}); "
            f"connect, or {missing_data_advice(card)}"
        ) from None
    return Path(folder) / hub.subdir if hub.subdir else Path(folder)


def snapshot_commit(card: Card, folder: Path) -> str:
    """The full commit a snapshot resolved to (HF cache: ``snapshots/<commit>/<subdir>``)."""
    hub: HubSource = card.hub  # type: ignore[assignment]
    revision = str(hub.revision)
    root = folder.parents[len(Path(hub.subdir).parts) - 1] if hub.subdir else folder
    # the cache names a snapshot by its full commit; an abbreviated pin resolves to it
    return root.name if root.name.startswith(revision) else revision
