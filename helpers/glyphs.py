"""A broad pretraining source made offline: 1,000 characters rendered from Debian's fonts.

Six clothing classes teach a network features that fit those six classes and little else (the
course measured it: on new classes they were no better than random weights). Breadth is what
makes pretrained features carry over, the way ImageNet's 1,000 classes do. Glyphs give breadth
for free: every script in Unicode, drawn in hundreds of openly licensed fonts, rendered here in
a few seconds with no download.

- :func:`font_files` lists the fonts (Debian packages in ``FONT_PACKAGES``);
- :func:`choose_characters` picks ``n`` characters that at least ``min_fonts`` fonts draw, never
  a digit or anything that looks like one (the far target is digits: no leaks);
- :func:`render_glyphs` draws each one many times with a random font, size, stroke, rotation,
  shift, blur, contrast and noise: 28×28, white on black, like Fashion-MNIST.

Rendering depends on the installed font files, so the model card records their fingerprint.
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

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
DIGIT_LOOKALIKE = 0.80  # a character whose render correlates above this with a digit is dropped
# Letters that handwriting turns into digits whatever the font (O/0, l/1, Z/2, S/5, b/6, q/9...).
KNOWN_LOOKALIKES = set("OoDIlL|!ZzSsbGgqTAJ")
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
    from fontTools.ttLib import TTFont

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
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


def draw(ch: str, font_path, size: int = 20, stroke: int = 0, angle: float = 0.0,
         shift=(0, 0)) -> np.ndarray:
    """One character, white on black, centred by its ink, in a ``SIZE``×``SIZE`` float image."""
    from PIL import Image, ImageDraw

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


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom else 0.0


def looks_like_a_digit(ch: str, fonts, threshold: float = DIGIT_LOOKALIKE) -> bool:
    """True if ``ch`` drawn in any of ``fonts`` correlates above ``threshold`` with a digit drawn
    in the same font (Ƽ looks like 5, ⊘ like 0), or is a letter in ``KNOWN_LOOKALIKES``: such
    characters would leak the far target."""
    if ch in KNOWN_LOOKALIKES:
        return True
    for f in fonts:
        try:
            glyph = draw(ch, f)
            digits = [draw(d, f) for d in "0123456789"]
        except OSError:
            continue
        if not glyph.any():
            continue
        if max(_corr(glyph, d) for d in digits if d.any()) > threshold:
            return True
    return False


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
        if not looks_like_a_digit(ch, cover[ch][:3]):
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
    from PIL import Image, ImageFilter

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
