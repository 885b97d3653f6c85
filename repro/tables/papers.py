"""The papers the table specs transcribe (a spec's ``paper`` key), and how a report cites one.

Titles are those the papers print (the seeds in ``<shared>/seeds`` for CAMixerSR and ESC; the
official repository for NAFSSR, whose seed is a poster without its title).
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.tables.spec import TableSpec


@dataclass(frozen=True)
class Paper:
    title: str
    authors: str
    venue: str
    year: int
    supplement_seed: str | None = None  # the seed that is this paper's supplementary material


PAPERS: dict[str, Paper] = {
    "NAFSSR": Paper(
        title="NAFSSR: Stereo Image Super-Resolution Using NAFNet",
        authors="X. Chu, L. Chen, W. Yu",
        venue="CVPR Workshops (NTIRE)",
        year=2022,
    ),
    "CAMixerSR": Paper(
        title='CAMixerSR: Only Details Need More "Attention"',
        authors="Y. Wang et al.",
        venue="CVPR",
        year=2024,
        supplement_seed="001_1de6642b683894fd.txt",
    ),
    "ESC": Paper(
        title="Emulating Self-attention with Convolution for Efficient Image Super-Resolution",
        authors="D. Lee, S. Yun, Y. Ro",
        venue="ICCV",
        year=2025,
        supplement_seed="002_7114223b98fca627.txt",
    ),
}


def citation(spec: TableSpec) -> str:
    """Where a table's reported numbers are printed, for people: paper, venue, table.

    A spec's own ``source.citation`` wins (tables quoted from a paper outside the registry);
    a table of a seed that is the supplementary material says so, since the main paper numbers
    its tables anew (CAMixerSR's supplementary Table 2 is not its main paper's Table 2).
    """
    src = spec.source
    if src.citation:
        return src.citation
    paper = PAPERS.get(spec.paper)
    if paper is None:
        return spec.paper or spec.title
    text = f"{paper.title} ({paper.authors}, {paper.venue} {paper.year})"
    table = src.table
    if table and paper.supplement_seed and src.seed == paper.supplement_seed:
        table = f"supplementary material, {table}"
    return f"{text}, {table}" if table else text
