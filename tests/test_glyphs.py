"""The broad pretraining source: characters rendered from Debian's fonts, none like a digit."""

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


def test_draw_centres_a_white_glyph_on_black():
    img = glyphs.draw("A", FONTS[0], size=20)
    assert img.shape == (28, 28) and img.dtype == np.float32
    assert img.max() > 0.9 and img[0].max() == 0 and img[:, 0].max() == 0


def test_chosen_characters_are_reproducible_and_no_digit_lookalikes():
    a = glyphs.choose_characters(40, seed=3, files=FONTS)
    assert a == glyphs.choose_characters(40, seed=3, files=FONTS) and len(set(a)) == 40
    assert not set(a) & (set("0123456789") | glyphs.KNOWN_LOOKALIKES)
    x, y = glyphs.render_glyphs(a[:5], 3, seed=0, files=FONTS)
    assert x.shape == (15, 28, 28, 1) and np.bincount(y).tolist() == [3] * 5
    assert 0 <= x.min() and x.max() <= 1
    x2, _ = glyphs.render_glyphs(a[:5], 3, seed=0, files=FONTS)
    assert np.array_equal(x, x2)


def test_missing_fonts_give_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install fonts-"):
        glyphs.choose_characters(10, files=glyphs.font_files([tmp_path]))
