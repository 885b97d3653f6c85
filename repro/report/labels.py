"""Labels for the points of a scatter plot that overlap nothing: a greedy pass in pixels.

Each label takes the first free spot of a fixed list of candidates around its point (near ones
first; far ones get a leader line). A label that finds none becomes a number, for a key that
the caller prints. The axes' size and limits must be final before labels are placed: offsets
are in points and the free spots are worked out in display pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# Label candidates: directions (preferred first) x distances in points; a far label gets a leader.
_DIRECTIONS = ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))
_NEAR, _FAR = (3, 8), (16, 26, 38)


@dataclass
class Labelled:
    """A point to label: its markers in data coordinates, the first being the one labelled (a
    line joins the first two); ``first`` ones choose their spot before the others."""

    text: str
    marks: list[tuple[float, float]]
    first: bool = False


def place_labels(
    ax: Axes, items: list[Labelled], number: int = 1, size: float = 7
) -> tuple[list[tuple[int, str]], int]:
    """Annotate every item; return the (number, text) of those shown as a number, and the next
    free number."""
    placer = _Placer(ax, items, size)
    crowd = [sum(math.dist(a, b) < 60 * placer.px for b in placer.anchors) for a in placer.anchors]
    # the first ones, then the most crowded: the isolated ones have room anyway
    order = sorted(range(len(items)), key=lambda i: (not items[i].first, -crowd[i]))
    keys = []
    for i in order:
        label = items[i].text
        offset = placer.place(label, i)
        if offset is None:  # no room for the name: a number
            keys.append((number, label))
            label, number = str(number), number + 1
            offset = placer.place(label, i, strict=False) or (3.0, 3.0)
        ax.annotate(
            label,
            items[i].marks[0],
            xytext=offset,
            textcoords="offset points",
            fontsize=size,
            **_align(offset),
            arrowprops=_leader(offset) if math.hypot(*offset) >= _FAR[0] * 0.8 else None,
            zorder=5,
        )
    return sorted(keys), number


def _leader(offset: tuple[float, float]) -> dict:
    """A thin line from the label's corner nearest the point (where the placer measured it)."""
    relpos = tuple(0.0 if d > 0 else 1.0 if d < 0 else 0.5 for d in offset)
    return {"arrowstyle": "-", "lw": 0.5, "color": "0.5", "relpos": relpos, "shrinkA": 0}


def _align(offset: tuple[float, float]) -> dict[str, str]:
    dx, dy = offset
    ha = "left" if dx > 0 else "right" if dx < 0 else "center"
    va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
    return {"ha": ha, "va": va}


class _Placer:
    """Greedy label placement in display pixels: a label takes the first candidate spot that
    lies inside the axes, overlaps no marker, label or leader, lies nearer its own point than
    any other one, and whose leader (if far) crosses no marker, label or other leader."""

    def __init__(self, ax: Axes, items: list[Labelled], size: float) -> None:
        fig = ax.get_figure()
        self.ax, self.renderer, self.px = ax, fig.canvas.get_renderer(), fig.dpi / 72
        self.size = size
        self.frame = ax.get_window_extent(self.renderer)
        self.anchors = [ax.transData.transform(it.marks[0]) for it in items]
        self.marks = [[ax.transData.transform(q) for q in it.marks] for it in items]
        r = 5 * self.px  # the largest marker's half width, with a margin
        self.boxes = [(x - r, y - r, x + r, y + r) for m in self.marks for x, y in m]
        self.labels: list[tuple] = []
        # segments labels must not cross: the reported -> reproduced lines, then the leaders
        self.leaders = [tuple(m) for m in self.marks if len(m) == 2]

    def place(self, text: str, i: int, strict: bool = True) -> tuple[float, float] | None:
        """The offset (points) of a free spot for row ``i``'s label, which it then takes;
        ``strict=False`` (for a number) drops the rule of being nearest its own point."""
        probe = self.ax.text(0, 0, text, fontsize=self.size)
        extent = probe.get_window_extent(self.renderer)
        probe.remove()
        px, anchor = self.px, self.anchors[i]
        w, h = extent.width + 2 * px, extent.height + 2 * px  # a little air around the text
        others = [m for j, marks in enumerate(self.marks) if j != i for m in marks]
        for dist in (*_NEAR, *_FAR):
            for ux, uy in _DIRECTIONS:
                scale = dist if 0 in (ux, uy) else dist * 0.8
                offset = (ux * scale, uy * scale)
                x, y = anchor[0] + offset[0] * px, anchor[1] + offset[1] * px
                x0 = x - px if ux > 0 else x - w + px if ux < 0 else x - w / 2
                y0 = y - px if uy > 0 else y - h + px if uy < 0 else y - h / 2
                box = (x0, y0, x0 + w, y0 + h)
                leader = (anchor, (x, y)) if dist in _FAR else None
                if self._free(box, anchor, leader, others, strict):
                    self.labels.append(box)
                    self.leaders += [leader] if leader else []
                    return offset
        return None

    def _free(self, box: tuple, anchor, leader: tuple | None, others: list, strict: bool) -> bool:
        f, px = self.frame, self.px
        if not (f.x0 < box[0] and box[2] < f.x1 and f.y0 < box[1] and box[3] < f.y1):
            return False
        if any(_overlap(box, t) for t in (*self.boxes, *self.labels)):
            return False
        if any(_crosses_box(seg, box) for seg in self.leaders):
            return False
        # clearly nearer its own point than any other; a far one (with a leader) keeps clear
        room = 8 * px if leader else 2 * _gap(box, anchor) + 4 * px
        if strict and not all(_gap(box, m) > room for m in others):
            return False
        if leader is None:
            return True
        return (
            # (a point on top of its own cannot be missed: only the others count)
            all(_to_segment(m, leader) > 6 * px for m in others if math.dist(m, anchor) > 8 * px)
            and not any(_crosses_box(leader, t) for t in self.labels)
            and not any(_intersect(leader, seg) for seg in self.leaders)
        )


def _to_segment(point, seg: tuple) -> float:
    """Distance from a point to a segment."""
    (ax_, ay), (bx, by) = seg
    dx, dy = bx - ax_, by - ay
    t = ((point[0] - ax_) * dx + (point[1] - ay) * dy) / (dx * dx + dy * dy or 1.0)
    t = min(1.0, max(0.0, t))
    return math.dist(point, (ax_ + t * dx, ay + t * dy))


def _crosses_box(seg: tuple, box: tuple) -> bool:
    """Does the segment pass through the box? (sampled every 2 pixels)"""
    (ax_, ay), (bx, by) = seg
    n = max(8, int(math.dist(seg[0], seg[1]) / 2))
    return any(
        box[0] < ax_ + t / n * (bx - ax_) < box[2] and box[1] < ay + t / n * (by - ay) < box[3]
        for t in range(1, n)
    )


def _intersect(s1: tuple, s2: tuple) -> bool:
    def side(a, b, c) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    (p, q), (r, t) = s1, s2
    return side(p, q, r) * side(p, q, t) < 0 and side(r, t, p) * side(r, t, q) < 0


def _gap(box: tuple, point) -> float:
    """Distance from a point to a box (0 inside)."""
    dx = max(box[0] - point[0], 0, point[0] - box[2])
    dy = max(box[1] - point[1], 0, point[1] - box[3])
    return math.hypot(dx, dy)


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
