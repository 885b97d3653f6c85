"""Read the next images while the model runs on this one: one background thread, a bounded queue.

Reading an image verifies its files (sha256), decodes them and may make its LR (MATLAB bicubic):
work that overlaps with the model's forward. Results come back in the items' order; a read that
fails raises in the consumer at that item (the items before it were handed over intact), and
the reader stops as soon as the consumer does (an error, Ctrl-C, or the end).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_POLL_S = 0.1  # how often a reader blocked on a full queue checks whether to stop


class ReadAhead(Generic[T, R]):
    """``fn(item)`` for each item, in order; up to ``depth`` results wait ready for the consumer.

    Use as a context manager: leaving it stops the reader and waits for the read in progress.
    ``depth`` 0 reads each item when the consumer asks for it, in the consumer's thread. Only
    the reader thread calls ``fn``: objects ``fn`` mutates need no lock while the consumer leaves
    them alone until the end.
    """

    def __init__(self, fn: Callable[[T], R], items: Sequence[T], depth: int = 2) -> None:
        self._fn, self._items, self._depth = fn, list(items), depth
        self._queue: queue.Queue = queue.Queue(maxsize=max(depth, 1))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._items)

    def __enter__(self) -> ReadAhead[T, R]:
        if self._depth > 0 and self._items:
            self._thread = threading.Thread(target=self._read, name="repro-read-ahead", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def __iter__(self) -> Iterator[R]:
        if self._thread is None:
            yield from map(self._fn, self._items)
            return
        for _ in self._items:
            ok, value = self._queue.get()
            if not ok:
                raise value
            yield value

    def _read(self) -> None:
        for item in self._items:
            try:
                out = (True, self._fn(item))
            except BaseException as exc:  # handed to the consumer, raised there at this item
                out = (False, exc)
            if not self._hand_over(out) or not out[0]:
                return

    def _hand_over(self, out: tuple[bool, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(out, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False
