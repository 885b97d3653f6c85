"""Hand-edited dataset cards (REPRO_CARDS): every malformed shape is one line naming the card."""

from __future__ import annotations

import re

import pytest

from tests.hostile.inputs import copy_cards, replace1, without_sha
from tests.hostile.sandbox import expect_clean, expect_error


@pytest.mark.parametrize(
    "edit, needles",
    [
        pytest.param(
            replace1(
                "  hr: HR/{name}.png\n  lr: LR_bicubic", "  hr: ../HR/{name}.png\n  lr: LR_bicubic"
            ),
            ("..",),
            id="ds-card-layout-dotdot",
        ),
        pytest.param(
            replace1("local_dirs:\n- Set5\n", "local_dirs:\n- /etc\n"),
            (),
            id="ds-card-local-dir-absolute",
        ),
        pytest.param(
            replace1("scales:\n", "scales: [2, 3\nbroken: {\n"),
            ("YAML",),
            id="ds-card-malformed-yaml",
        ),
        pytest.param(lambda t: "", ("Set5",), id="ds-card-empty-file"),
        pytest.param(
            replace1("scales:\n- 2\n", "scales:\n- two\n"),
            ("Set5",),
            id="ds-card-scales-not-numbers",
        ),
        pytest.param(
            lambda t: without_sha(t) + "sha256: abc\n", ("Set5",), id="ds-card-sha256-not-a-mapping"
        ),
        pytest.param(
            replace1("    repo: eugenesiow/Set5\n", ""), ("Set5",), id="ds-card-hub-without-repo"
        ),
        pytest.param(lambda t: t + "exclude:\n- baby\n", ("Set5",), id="ds-card-exclude-a-list"),
        pytest.param(
            replace1("images: 5\n", "images: five\n"), ("Set5",), id="ds-card-images-not-a-number"
        ),
        pytest.param(
            lambda t: re.sub(r"^layouts:\n(?:[- ].*\n)*", "layouts: HR\n", t, flags=re.M),
            ("Set5",),
            id="ds-card-layouts-a-string",
        ),
    ],
)
def test_a_malformed_set5_card(sb, edit, needles):
    """verify Set5 with REPRO_CARDS holding an edited Set5 card"""
    sb.setenv("REPRO_OVERRIDE_SHIPPED", "1")
    sb.setenv("REPRO_CARDS", copy_cards(sb.root / "cards", edit))
    expect_error(sb.run("verify", "Set5"), *needles)


def test_ds_card_not_utf8(sb):
    """REPRO_CARDS with a Set5 card holding a non-UTF-8 byte"""
    folder = copy_cards(sb.root / "cards")
    p = folder / "Set5.yaml"
    p.write_bytes(p.read_bytes().replace(b"5 images", b"5 \xff images", 1))
    sb.setenv("REPRO_OVERRIDE_SHIPPED", "1")
    sb.setenv("REPRO_CARDS", folder)
    expect_error(sb.run("verify", "Set5"), "Set5")


def test_ds_card_malformed_other_card(sb):
    """verify Set5 while another card (Set14) is malformed YAML: works, or names Set14"""
    sb.setenv("REPRO_OVERRIDE_SHIPPED", "1")
    sb.setenv(
        "REPRO_CARDS",
        copy_cards(sb.root / "cards", replace1("scales:\n", "scales: [2, 3\n"), "Set14"),
    )
    r = sb.run("verify", "Set5")
    expect_clean(r)
    assert r.rc == 0 or "Set14" in r.stderr, r.stderr


def test_ds_cards_folder_missing(sb):
    """verify Set5 with REPRO_CARDS pointing at a missing folder"""
    sb.setenv("REPRO_OVERRIDE_SHIPPED", "1")
    sb.setenv("REPRO_CARDS", sb.root / "no-cards")
    expect_error(sb.run("verify", "Set5"))
