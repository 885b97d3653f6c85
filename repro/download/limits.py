"""The limits of one transfer: an overall deadline, a minimum rate, and the error for each.

The minimum rate is averaged over a window (:data:`RATE_WINDOW_S`) that is also the longest
wait for the server's next byte: a server that stalls and one that trickles both end. Users set
the deadline and the rate with ``REPRO_DOWNLOAD_DEADLINE`` (seconds) and
``REPRO_DOWNLOAD_MIN_RATE`` (bytes per second).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from repro.errors import ReproError

DEADLINE_S = 6 * 3600.0  # the longest one file may take (REPRO_DOWNLOAD_DEADLINE)
MIN_RATE = 1024.0  # bytes/s averaged over RATE_WINDOW_S (REPRO_DOWNLOAD_MIN_RATE)
RATE_WINDOW_S = 30.0  # also the longest wait for the server's next byte
CONNECT_S = 10.0


class TransferError(Exception):
    """Why a transfer failed, on one line; ``retry``: a transient failure worth another try."""

    def __init__(self, message: str, *, retry: bool = False, refused_host: str | None = None):
        super().__init__(message)
        self.retry, self.refused_host = retry, refused_host


@dataclass(frozen=True)
class Limits:
    """How long one file may take: an overall deadline and a minimum rate (bytes/s)."""

    deadline_s: float = DEADLINE_S
    min_rate: float = MIN_RATE
    window_s: float = RATE_WINDOW_S
    connect_s: float = CONNECT_S

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, with ``REPRO_DOWNLOAD_DEADLINE`` / ``REPRO_DOWNLOAD_MIN_RATE`` if set."""
        return cls(
            deadline_s=_env_number("REPRO_DOWNLOAD_DEADLINE", DEADLINE_S, "seconds > 0"),
            min_rate=_env_number("REPRO_DOWNLOAD_MIN_RATE", MIN_RATE, "bytes per second > 0"),
            window_s=RATE_WINDOW_S,
            connect_s=CONNECT_S,
        )


def _env_number(name: str, default: float, what: str) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ReproError(
            f"{name}={raw!r} is not {what}; set a number such as {default:g}, or unset it"
        )
    return value


class Clock:
    """The deadline and the minimum rate of one transfer, checked as bytes arrive."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.start = time.monotonic()
        self.received = 0  # bytes received by this transfer (resumed ones not counted)
        self._mark = (self.start, 0)

    def body_starts(self) -> None:
        """The rate is measured from here (not over connecting, redirects, pages, pauses)."""
        self._mark = (time.monotonic(), self.received)

    def check_deadline(self, have: int, total: int | None) -> None:
        lim = self.limits
        if time.monotonic() - self.start > lim.deadline_s:
            of = f"{have} of {total}" if total is not None else f"{have}"
            raise TransferError(
                f"not done within the {lim.deadline_s:g} s deadline ({of} bytes; "
                "REPRO_DOWNLOAD_DEADLINE sets it)"
            )

    def check(self, have: int, total: int | None) -> None:
        """Raise when the deadline passed or the last window ran under the minimum rate."""
        self.check_deadline(have, total)
        now, lim = time.monotonic(), self.limits
        of = f"{have} of {total}" if total is not None else f"{have}"
        since, then = self._mark
        if now - since >= lim.window_s:
            rate = (self.received - then) / (now - since)
            if rate < lim.min_rate:
                raise TransferError(
                    f"too slow: {rate:.0f} bytes/s over the last {now - since:.1f} s, under the "
                    f"minimum rate of {lim.min_rate:g} bytes/s ({of} bytes; "
                    "REPRO_DOWNLOAD_MIN_RATE sets it)"
                )
            self._mark = (now, self.received)

    def stalled(self, have: int, total: int | None) -> TransferError:
        of = f" after {have} of {total} bytes" if total is not None else f" after {have} bytes"
        return TransferError(
            f"stalled: nothing arrived for {self.limits.window_s:g} s{of} (under the minimum "
            f"rate of {self.limits.min_rate:g} bytes/s; REPRO_DOWNLOAD_MIN_RATE sets it)"
        )
