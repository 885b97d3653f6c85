"""Progress of a loop over images: a bar on stderr when it is a terminal, one plain line
otherwise.

A bar redraws itself with carriage returns, which fill a CI log or a redirected file with
fragments; where stderr is not a terminal, a job says instead, once it is done, how many images
it went through and how long it took. That line is a record of the run, so it goes with the
run's other lines to stdout (a command with ``--json`` shows no progress): stderr keeps only
warnings and the one line of an error.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """``items``, with their progress shown as the module docstring says."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        yield from tqdm(items, desc=desc, total=total, unit="img", leave=False, dynamic_ncols=True)
        return
    start, done = time.perf_counter(), 0
    for item in items:
        yield item
        done += 1
    print(f"{desc}: {done} images, {time.perf_counter() - start:.1f} s")
