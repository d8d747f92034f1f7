"""The style sheet's colours meet WCAG AA: 4.5:1 for text on the background it is shown on
(and 3:1 for the focus ring and field borders, WCAG 2.2 for non-text)."""

from __future__ import annotations

import re

from bot.web.app import HERE

STYLE = (HERE / "static" / "style.css").read_text()
COLOURS = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", STYLE))

# (text, background): every pair the style sheet puts together.
TEXT_PAIRS = [
    ("text", "bg"),
    ("text", "panel"),
    ("muted", "bg"),
    ("muted", "panel"),
    ("link", "bg"),
    ("link", "panel"),
    ("primary-text", "primary"),
    ("urgent-text", "urgent-bg"),
    ("high-text", "high-bg"),
    ("medium-text", "medium-bg"),
    ("low-text", "low-bg"),
    ("late", "bg"),
]


def luminance(colour: str) -> float:
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(one: str, other: str) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_text_colours_meet_wcag_aa() -> None:
    for text, background in TEXT_PAIRS:
        ratio = contrast(COLOURS[text], COLOURS[background])
        assert ratio >= 4.5, (text, background, round(ratio, 2))


def test_the_focus_ring_is_visible_on_every_background() -> None:
    for background in ("bg", "panel"):
        assert contrast(COLOURS["focus"], COLOURS[background]) >= 3.0, background


def test_no_colour_outside_the_palette_but_the_notices() -> None:
    # A colour written outside :root escapes these checks: only the two notices' pairs may.
    loose = set(re.findall(r"#[0-9a-fA-F]{6}", STYLE)) - set(COLOURS.values())
    assert loose == {"#e3f4e6", "#14451d", "#fde4e4", "#7a1015", "#6b6f76"}
    assert contrast("#14451d", "#e3f4e6") >= 4.5 and contrast("#7a1015", "#fde4e4") >= 4.5
    assert contrast("#6b6f76", COLOURS["bg"]) >= 3.0  # field borders
