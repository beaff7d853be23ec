"""The broad pretraining source: characters rendered from Debian's fonts, none like a digit."""

import time
import unicodedata

import numpy as np
import pytest

from helpers import glyphs

FONTS = glyphs.font_files()  # `make test` installs the font packages (glyphs.FONT_PACKAGES)


def test_the_font_packages_are_installed():
    assert len(FONTS) >= 100, f"found {len(FONTS)} fonts; fix: {glyphs.FONT_FIX}"


def test_eligible_characters_exclude_digits_marks_and_composed_forms():
    assert glyphs._eligible("a") and glyphs._eligible("Ж") and glyphs._eligible("→")
    for ch in ("7", "٣", "é", "\u0301", " ", "ﬁ", "\n"):
        assert not glyphs._eligible(ch), repr(ch)


def test_known_lookalikes_are_refused_without_drawing():
    assert glyphs.looks_like_a_digit("O", []) and glyphs.looks_like_a_digit("l", [])
    for digit, group in glyphs.LOOKALIKES_BY_DIGIT.items():
        assert digit in glyphs.DIGITS and group, digit
        assert all(glyphs.digit_lookalike(ch, []) == f"listed: looks like {digit}" for ch in group)


# Characters that must never reach the source: each looks like a digit (issue 27).
MUST_BE_REFUSED = {
    "CYRILLIC SMALL LETTER DZE": "\u0455",            # s: 5
    "LATIN CAPITAL LETTER D WITH STROKE": "Đ",        # 0 / D
    "LATIN CAPITAL LETTER T WITH STROKE": "Ŧ",        # 7
    "LATIN CAPITAL LETTER Z WITH STROKE": "Ƶ",        # 2
    "LATIN CAPITAL LETTER G WITH STROKE": "Ǥ",        # 6
    "LATIN CAPITAL LETTER O WITH STROKE": "Ø",        # 0
    "LATIN LETTER BILABIAL CLICK": "ʘ",               # 0
    "CYRILLIC CAPITAL LETTER BARRED O": "Ө",          # 0
    "EMPTY SET": "∅",                                 # 0
    "DIAMETER SIGN": "⌀",                             # 0
    "HEBREW LETTER SAMEKH": "ס",                      # 0
    "LATIN SMALL LETTER REVERSED OPEN E": "ɜ",        # 3
    "DIVIDES": "∣",                                   # 1
    "HEBREW LETTER RESH": "ר",                        # 7
    "ARMENIAN SMALL LETTER ZA": "զ",                  # q: 9
    "WHITE CIRCLE": "○", "LARGE CIRCLE": "◯", "BLACK CIRCLE": "●", "WHITE BULLET": "◦",
    "RING OPERATOR": "∘", "MEDIUM WHITE CIRCLE": "⚪", "MEDIUM BLACK CIRCLE": "⚫",
    "HEAVY LARGE CIRCLE": "⭕", "DOTTED CIRCLE": "◌",
}
KEPT = ("x", "N", "@", "Ж", "→", "ж", "Ꮿ")


@pytest.mark.parametrize("name", MUST_BE_REFUSED)
def test_digit_lookalikes_are_refused(name):
    ch = MUST_BE_REFUSED[name]
    assert unicodedata.name(ch) == name
    fonts = glyphs._coverage(tuple(FONTS)).get(ch, [])
    assert glyphs.looks_like_a_digit(ch, fonts), name
    assert glyphs.looks_like_a_digit(ch, []), f"{name} is refused only by its renders"


@pytest.mark.parametrize("ch", KEPT)
def test_ordinary_characters_are_kept(ch):
    fonts = glyphs._coverage(tuple(FONTS)).get(ch, [])
    assert fonts and not glyphs.looks_like_a_digit(ch, fonts), glyphs.digit_lookalike(ch, fonts)


def test_unicode_confusables_lead_to_digits_and_lookalikes():
    # the table as confusable-homoglyphs ships it, read in both directions
    table = glyphs.confusables()
    assert "O" in table["0"] and "0" in table["O"]
    assert glyphs.confusable_digit("Đ") == "D" and glyphs.confusable_digit("\u0455") == "s"
    assert glyphs.confusable_digit("∣") == "l" and glyphs.confusable_digit("∞") == "oo"
    assert glyphs.confusable_digit("Ж") is None and glyphs.confusable_digit("x") is None


def test_every_font_is_checked_not_only_the_first(monkeypatch):
    """The renders are compared in every font that draws the character, not the first three."""
    calls = []
    real = glyphs._digits_in
    monkeypatch.setattr(glyphs, "_digits_in", lambda path: calls.append(path) or real(path))
    assert not glyphs.looks_like_a_digit("Ж", FONTS[:7])
    assert calls == [str(f) for f in FONTS[:7]]
    # the seventh font draws it like a digit (a stand-in render and digit): refused, by that font
    bar = np.pad(np.ones((8, 3), "float32"), ((10, 10), (12, 13)))
    monkeypatch.setattr(glyphs, "draw", lambda ch, font, **kw: bar)
    monkeypatch.setattr(glyphs, "_digits_in", lambda path: (
        np.array([glyphs._unit(bar)]) if path == str(FONTS[6]) else np.zeros((0, bar.size))))
    assert glyphs.digit_lookalike("Ж", FONTS[:7]).startswith(f"drawn in {FONTS[6].name}")


def test_filter_fingerprint_follows_the_rules(monkeypatch):
    before = glyphs.filter_fingerprint()
    assert before == glyphs.filter_fingerprint() and len(before) == 16
    monkeypatch.setattr(glyphs, "FILTER_VERSION", glyphs.FILTER_VERSION + 1)
    assert glyphs.filter_fingerprint() != before
    assert glyphs.characters_fingerprint("ab") != glyphs.characters_fingerprint("ac")


def test_draw_centres_a_white_glyph_on_black():
    img = glyphs.draw("A", FONTS[0], size=20)
    assert img.shape == (28, 28) and img.dtype == np.float32
    assert img.max() > 0.9 and img[0].max() == 0 and img[:, 0].max() == 0


def test_chosen_characters_are_reproducible_and_no_digit_lookalikes():
    a = glyphs.choose_characters(40, seed=3, files=FONTS)
    assert a == glyphs.choose_characters(40, seed=3, files=FONTS) and len(set(a)) == 40
    assert not set(a) & (set("0123456789") | glyphs.KNOWN_LOOKALIKES)
    assert not set(a) & set(MUST_BE_REFUSED.values())
    assert all(glyphs.confusable_digit(ch) is None for ch in a)
    x, y = glyphs.render_glyphs(a[:5], 3, seed=0, files=FONTS)
    assert x.shape == (15, 28, 28, 1) and np.bincount(y).tolist() == [3] * 5
    assert 0 <= x.min() and x.max() <= 1
    x2, _ = glyphs.render_glyphs(a[:5], 3, seed=0, files=FONTS)
    assert np.array_equal(x, x2)


def test_missing_fonts_give_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install fonts-"):
        glyphs.choose_characters(10, files=glyphs.font_files([tmp_path]))


def test_choosing_a_thousand_characters_is_quick_and_clean():
    """Every font of every candidate is drawn: the digits' renders are cached per font, so the
    full choice stays within a minute (about 4 s measured on 2 cores)."""
    start = time.perf_counter()
    chosen = glyphs.choose_characters(1000, files=FONTS)
    assert time.perf_counter() - start < 120
    assert len(chosen) == 1000 and not set(chosen) & set(MUST_BE_REFUSED.values())
