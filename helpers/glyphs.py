"""A broad pretraining source made offline: 1,000 characters rendered from Debian's fonts.

Six clothing classes teach a network features that fit those six classes and little else (the
course measured it: on new classes they were no better than random weights). Breadth is what
makes pretrained features carry over, the way ImageNet's 1,000 classes do. Glyphs give breadth
for free: every script in Unicode, drawn in hundreds of openly licensed fonts, rendered here in
a few seconds with no download.

- :func:`font_files` lists the fonts (Debian packages in ``FONT_PACKAGES``);
- :func:`choose_characters` picks ``n`` characters that at least ``min_fonts`` fonts draw, never
  a digit or anything that looks like one (the far target is digits: no leaks). Three tests, any
  one of which refuses a character (:func:`digit_lookalike`): an explicit list of look-alikes
  grouped by the digit each resembles (``LOOKALIKES_BY_DIGIT``); Unicode's own table of
  confusable characters (TR39's confusables.txt, as shipped by the PyPI package
  ``confusable-homoglyphs``), followed to a digit or a listed look-alike; and the character's
  render, in **every** font that draws it, correlating above ``DIGIT_LOOKALIKE`` with a digit
  drawn in the same font;
- :func:`render_glyphs` draws each one many times with a random font, size, stroke, rotation,
  shift, blur, contrast and noise: 28×28, white on black, like Fashion-MNIST.

Rendering depends on the installed font files, so the model card records their fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = ["FONT_DIRS", "FONT_PACKAGES", "FONT_FIX", "font_files", "fonts_fingerprint", "BLOCKS",
           "DIGITS", "choose_characters", "digit_lookalike", "looks_like_a_digit",
           "LOOKALIKES_BY_DIGIT", "KNOWN_LOOKALIKES", "confusables", "confusable_digit",
           "CONFUSABLES_FIX", "DIGIT_LOOKALIKE", "draw", "render_glyphs", "SIZE",
           "FILTER_VERSION", "filter_fingerprint", "characters_fingerprint"]

FONT_DIRS = (Path("/usr/share/fonts"),)
FONT_PACKAGES = (
    "fonts-dejavu-core", "fonts-liberation", "fonts-noto-core", "fonts-noto-mono",
    "fonts-freefont-ttf", "fonts-urw-base35", "fonts-roboto", "fonts-open-sans",
    "fonts-crosextra-carlito", "fonts-crosextra-caladea", "fonts-lato",
)
FONT_FIX = "sudo apt-get install " + " ".join(FONT_PACKAGES) + "   (or: make pretrain)"

# Unicode blocks to draw characters from: many scripts and symbol sets, no digits.
BLOCKS = (
    (0x0021, 0x007E), (0x00A1, 0x00FF), (0x0100, 0x024F), (0x0250, 0x02AF),   # Latin, IPA
    (0x0370, 0x03FF), (0x0400, 0x04FF), (0x0530, 0x058F), (0x05D0, 0x05EA),   # Greek, Cyrillic,
    (0x10A0, 0x10FF), (0x13A0, 0x13F5), (0x1200, 0x137F), (0x1400, 0x167F),   # Armenian, Hebrew,
    (0x0900, 0x097F), (0x0980, 0x09FF), (0x0A80, 0x0AFF), (0x0B80, 0x0BFF),   # Georgian, Cherokee,
    (0x0E00, 0x0E7F), (0x1780, 0x17FF), (0x3041, 0x30FF), (0x1100, 0x11FF),   # Ethiopic, syllabics,
    (0x2010, 0x205E), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2300, 0x23FF),   # Indic, Thai, Khmer,
    (0x2500, 0x257F), (0x25A0, 0x25FF), (0x2600, 0x26FF), (0x2700, 0x27BF),   # kana, jamo, symbols
)
DIGITS = "0123456789"
DIGIT_LOOKALIKE = 0.80  # a character whose render correlates above this with a digit is dropped
# Characters that look like a digit whatever the font, grouped by the digit each resembles:
# letters that handwriting turns into digits (O/0, l/1, Z/2, S/5, b/6, T/7, B/8, q/9...), their
# Greek, Cyrillic, Armenian, Hebrew and Cherokee twins, circles and slashed circles. Unicode's
# confusables table (below) catches many more; this list holds what it misses (ɜ, ס, ר, ∅, the
# circles) and the letters it is followed to.
LOOKALIKES_BY_DIGIT = {
    "0": ("OoDQΟοОоՕօ〇ዐ°ØøӨөƟɵΘθϑѲѳʘ∅⌀ס"               # O and its twins, barred and slashed
          "○◯●◦∘⚪⚫⭕❍◌◎◍⊙⊚⊖⊘⊝⦸"),                     # circles
    "1": "lIL|!¦ǀ∣׀ןוιІӀJ",                               # strokes: l, I, bars, vav, final nun
    "2": "ZzƵƶƻƧƨϨϩ",                                     # Z, tone two, hori
    "3": "ʒƷʓƺзЗӡӠȝȜɜᴈƐɛεϵ϶Ээ",                          # ezh, ze, yogh, open e and its reverse
    "4": "AЧчҶҷӋӌ",                                      # A, Cyrillic che
    "5": "SsЅѕƼƽ§",                                      # S, dze, tone five
    "6": "bGбБƂƃƄƅδϬϭɓᏮꮾ",                              # b, be, tone six, delta, shima
    "7": "TτТт⊤רד",                                      # T, resh and dalet
    "8": "BßβВвȣȢ∞",                                      # B, sharp s, beta, ve, ou, infinity
    "9": "gqɡցգզՑԳԚԛϙϘ",                                 # g, q, co, gim, za, qa, koppa
}
KNOWN_LOOKALIKES = frozenset("".join(LOOKALIKES_BY_DIGIT.values()))
# Bump when the filter's rules change: the glyph cache and the card carry the filter's fingerprint.
FILTER_VERSION = 2
CONFUSABLES_FIX = ('the confusables table comes with the teaching tools: pip install -e ".[teach]" '
                   "(or: make pretrain)")
SIZE = 28


def font_files(dirs=FONT_DIRS) -> list[Path]:
    """Every TrueType/OpenType file under ``dirs``, sorted (one file per font, no collections)."""
    found = sorted({p.resolve() for d in dirs if d.is_dir() for p in d.rglob("*")
                    if p.suffix.lower() in (".ttf", ".otf")})
    return found


def fonts_fingerprint(files) -> str:
    """A short hash of the font files' names and sizes: renders are reproducible for equal prints."""
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{Path(f).name}:{Path(f).stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def _eligible(ch: str) -> bool:
    """A character that is a visible base symbol: no digits, marks, spaces, controls, or composed forms."""
    cat = unicodedata.category(ch)
    if cat[0] in "MZC" or cat == "Nd" or ch.isdigit() or ch.isnumeric():
        return False
    return not unicodedata.decomposition(ch)  # precomposed (é) and compatibility (ﬁ) forms


@lru_cache(maxsize=1)
def _coverage(files: tuple) -> dict:
    """{character: [font files that draw it]} for every eligible character in ``BLOCKS``."""
    wanted = {cp for lo, hi in BLOCKS for cp in range(lo, hi + 1) if _eligible(chr(cp))}
    cover: dict = {}
    for f in files:
        try:
            with TTFont(f, lazy=True, fontNumber=0) as font:
                cmap = font.getBestCmap() or {}
        except Exception:  # an unreadable file: skip it
            continue
        for cp in wanted.intersection(cmap):
            cover.setdefault(chr(cp), []).append(f)
    return cover


@lru_cache(maxsize=4096)
def _font(path: str, size: int):
    return ImageFont.truetype(path, size)


def draw(ch: str, font_path, size: int = 20, stroke: int = 0, angle: float = 0.0,
         shift=(0, 0)) -> np.ndarray:
    """One character, white on black, centred by its ink, in a ``SIZE``×``SIZE`` float image."""
    font = _font(str(font_path), size)
    canvas = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(canvas).text((32, 32), ch, fill=255, font=font, anchor="mm",
                                stroke_width=stroke, stroke_fill=255)
    if angle:
        canvas = canvas.rotate(angle, resample=Image.BILINEAR, center=(32, 32))
    box = canvas.getbbox()
    if box is None:
        return np.zeros((SIZE, SIZE), "float32")
    cy, cx = (box[1] + box[3]) // 2, (box[0] + box[2]) // 2
    left, top = cx - SIZE // 2 - shift[1], cy - SIZE // 2 - shift[0]
    crop = canvas.crop((left, top, left + SIZE, top + SIZE))
    return np.asarray(crop, dtype="float32") / 255.0


def _plain(text: str) -> str:
    """``text`` without marks and format characters, compatibility forms folded (NFKC): the
    letters a reader sees (``D̵`` -> ``D``, ``𝟐`` -> ``2``)."""
    return "".join(c for c in unicodedata.normalize("NFKC", text)
                   if unicodedata.category(c)[0] not in "MC")


def _confusables_json() -> str:
    try:
        return resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(f"{err}.\nFix: {CONFUSABLES_FIX}") from err


@lru_cache(maxsize=1)
def confusables() -> dict:
    """{character: the strings Unicode calls confusable with it}, in both directions.

    The table is TR39's confusables.txt as the package ``confusable-homoglyphs`` ships it: a JSON
    object from each character to a list of ``{"c": look-alike, "n": its name}``. Each look-alike
    is kept as :func:`_plain` reads it (``Ø`` is listed as ``O̸``: O with a combining slash)."""
    graph: dict = {}
    for ch, entries in json.loads(_confusables_json()).items():
        ch = "".join(c for c in ch if unicodedata.category(c) != "Cf")   # bidi marks around ߀
        for entry in entries:
            other = _plain(entry["c"])
            if other and other != ch:
                graph.setdefault(ch, set()).add(other)
                graph.setdefault(other, set()).add(ch)
    return graph


def _a_digit_lookalike(text: str) -> bool:
    return any(c in DIGITS or c in KNOWN_LOOKALIKES for c in text)


def confusable_digit(ch: str) -> str | None:
    """The digit or listed look-alike that Unicode's confusables table leads ``ch`` to (one step,
    either direction, or ``ch``'s own plain form), or None. ``Ѕ`` -> ``S``, ``Đ`` -> ``D``,
    ``∣`` -> ``l``, ``զ`` -> ``q``, ``∞`` -> ``oo``."""
    for text in (_plain(ch), *sorted(confusables().get(ch, ()))):
        if text != ch and _a_digit_lookalike(text):
            return text
    return None


def _unit(img: np.ndarray) -> np.ndarray:
    v = img.ravel().astype("float64")
    v = v - v.mean()
    norm = np.linalg.norm(v)
    return v / norm if norm else v


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(_unit(a) @ _unit(b))


@lru_cache(maxsize=1024)  # one entry per font file
def _digits_in(path: str) -> np.ndarray:
    """The digits this font draws, as :func:`draw` draws them (zero-mean unit vectors, one row per
    digit; none for a font without digits). Drawn once per font file, then cached."""
    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
        rows = [draw(d, path) for d in DIGITS if ord(d) in cmap]
    except Exception:   # an unreadable font: nothing to compare with
        rows = []
    rows = [_unit(r) for r in rows if r.any()]
    return np.array(rows) if rows else np.zeros((0, SIZE * SIZE))


def digit_lookalike(ch: str, fonts, threshold: float = DIGIT_LOOKALIKE) -> str | None:
    """Why ``ch`` would leak the far target (digits), or None if it would not:

    - it is a digit or in ``KNOWN_LOOKALIKES`` (listed by the digit it resembles);
    - Unicode's confusables table leads it to a digit or a listed look-alike
      (:func:`confusable_digit`);
    - drawn in any one of ``fonts`` it correlates above ``threshold`` with a digit drawn in the
      same font (``Ƽ`` looks like 5, ``⊘`` like 0). Every font is tried: fonts draw one character
      in very different shapes."""
    if ch in DIGITS or ch in KNOWN_LOOKALIKES:
        digit = next((d for d, group in LOOKALIKES_BY_DIGIT.items() if ch in group), ch)
        return f"listed: looks like {digit}"
    text = confusable_digit(ch)
    if text is not None:
        return f"Unicode confusable with {text}"
    for f in fonts:
        digits = _digits_in(str(f))
        if not len(digits):
            continue
        try:
            glyph = draw(ch, f)
        except OSError:
            continue
        if not glyph.any():
            continue
        scores = digits @ _unit(glyph)
        if scores.max() > threshold:
            return f"drawn in {Path(f).name}, correlates {scores.max():.2f} with a digit"
    return None


def looks_like_a_digit(ch: str, fonts, threshold: float = DIGIT_LOOKALIKE) -> bool:
    """True if ``ch`` would leak the far target (digits): see :func:`digit_lookalike`."""
    return digit_lookalike(ch, fonts, threshold) is not None


def filter_fingerprint() -> str:
    """A short hash of the look-alike filter's rules: its version, threshold, list and the
    confusables table. Caches of chosen characters are only reused for an equal fingerprint."""
    digest = hashlib.sha256(f"{FILTER_VERSION}:{DIGIT_LOOKALIKE}:".encode())
    digest.update("".join(sorted(KNOWN_LOOKALIKES)).encode())
    digest.update(_confusables_json().encode())
    return digest.hexdigest()[:16]


def characters_fingerprint(chars) -> str:
    """A short hash of a list of characters (the glyph cache's key carries it)."""
    return hashlib.sha256("".join(chars).encode()).hexdigest()[:16]


def choose_characters(n: int = 1000, min_fonts: int = 3, seed: int = 0, files=None) -> list[str]:
    """``n`` characters drawn by at least ``min_fonts`` fonts, none like a digit, spread over the
    blocks (a seeded sample), sorted by code point."""
    files = tuple(font_files() if files is None else files)
    if not files:
        raise FileNotFoundError(f"No fonts found under {[str(d) for d in FONT_DIRS]}.\nFix: {FONT_FIX}")
    cover = _coverage(files)
    pool = sorted(ch for ch, fs in cover.items() if len(fs) >= min_fonts)
    rng = np.random.default_rng(seed)
    chosen = []
    for ch in rng.permutation(pool):
        if not looks_like_a_digit(ch, cover[ch]):      # every font that draws it
            chosen.append(str(ch))
            if len(chosen) == n:
                break
    if len(chosen) < n:
        raise ValueError(f"Only {len(chosen)} characters are drawn by at least {min_fonts} fonts "
                         f"here; {n} were asked for.\nFix: {FONT_FIX}")
    return sorted(chosen)


def render_glyphs(chars, per_class: int, seed: int = 0, files=None):
    """``per_class`` renders of every character: a random font that draws it, size 14–26 px,
    stroke 0–2 px, rotation ±15°, shift ±3 px, then blur, contrast and noise.

    Returns ``(x, y)``: float32 images (N, 28, 28, 1) in [0, 1] and labels (index in ``chars``).
    """
    files = tuple(font_files() if files is None else files)
    cover = _coverage(files)
    rng = np.random.default_rng(seed)
    x = np.empty((len(chars) * per_class, SIZE, SIZE), "float32")
    y = np.repeat(np.arange(len(chars)), per_class)
    for i, ch in enumerate(np.repeat(list(chars), per_class)):
        fonts = cover[ch]
        img = draw(ch, fonts[rng.integers(len(fonts))], size=int(rng.integers(14, 27)),
                   stroke=int(rng.integers(0, 3)), angle=float(rng.uniform(-15, 15)),
                   shift=tuple(int(s) for s in rng.integers(-3, 4, size=2)))
        blur = rng.uniform(0, 1.0)
        if blur > 0.3:
            pil = Image.fromarray((img * 255).astype("uint8")).filter(ImageFilter.GaussianBlur(blur))
            img = np.asarray(pil, dtype="float32") / 255.0
        img = img * rng.uniform(0.6, 1.0) + rng.normal(0, rng.uniform(0, 0.05), img.shape)
        x[i] = np.clip(img, 0, 1)
    return x[..., None], y
