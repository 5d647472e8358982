"""TeX accent decoding and author-name folding.

rss.arxiv.org sends author names with arXiv's TeX accent escapes (``G\\"okhan``,
``Hau{\\ss}er``), while the arXiv API and users write them in Unicode. These helpers turn
the escapes into Unicode and build a matching key that ignores case, accents and escapes.
"""

from __future__ import annotations

import functools

import re
import unicodedata

# Accent commands and the Unicode combining mark each one adds to its letter.
_SYMBOL_ACCENTS = {
    '"': "\u0308",  # diaeresis
    "'": "\u0301",  # acute
    "`": "\u0300",  # grave
    "^": "\u0302",  # circumflex
    "~": "\u0303",  # tilde
    "=": "\u0304",  # macron
    ".": "\u0307",  # dot above
}
_LETTER_ACCENTS = {
    "u": "\u0306",  # breve
    "v": "\u030c",  # caron
    "H": "\u030b",  # double acute
    "r": "\u030a",  # ring above
    "c": "\u0327",  # cedilla
    "k": "\u0328",  # ogonek
    "d": "\u0323",  # dot below
    "b": "\u0331",  # macron below
}

# Commands that stand for a whole letter.
_LETTERS = {
    "ss": "ß",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "o": "ø",
    "O": "Ø",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
}

_LETTER_NAMES = "|".join(sorted(_LETTERS, key=len, reverse=True))
# "{\ss}" with its group braces, or a bare "\ss" that ends at a non-letter. TeX drops the
# space after a control word, so "\o rnsen" is "ørnsen". An empty group "\ss{}" also ends it.
_BRACED_LETTER = re.compile(r"\{\\(" + _LETTER_NAMES + r")\}")
_BARE_LETTER = re.compile(r"\\(" + _LETTER_NAMES + r")(?:\{\}| (?=[A-Za-z])|(?![A-Za-z]))")

_BASE = r"[A-Za-zıȷ]"
_SYMBOL_NAMES = "".join(re.escape(c) for c in _SYMBOL_ACCENTS)
_LETTER_ACCENT_NAMES = "".join(_LETTER_ACCENTS)
# Symbol accents take the next letter: \"o, \"{o}, \" o. Letter-named accents need braces
# or a space, as in \v{s} and \c c, because "\vs" would be a different command.
_ACCENT = (
    r"\\(?:(?P<symbol>[" + _SYMBOL_NAMES + r"])\s*(?:\{(?P<symbol_braced>" + _BASE + r")\}|(?P<symbol_bare>" + _BASE + r"))"
    r"|(?P<letter>[" + _LETTER_ACCENT_NAMES + r"])(?:\{(?P<letter_braced>" + _BASE + r")\}|\s+(?P<letter_bare>" + _BASE + r")))"
)
# Try the form wrapped in group braces first so "{\"o}" loses its braces too.
_BRACED_ACCENT = re.compile(r"\{" + _ACCENT + r"\}")
_BARE_ACCENT = re.compile(_ACCENT)

# Letters that NFKD does not split into a base letter and a mark.
FOLD_LETTERS = str.maketrans(
    {"ß": "ss", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae",
     "œ": "oe", "Œ": "oe", "đ": "d", "Đ": "d", "ı": "i", "ȷ": "j"}
)
_NAME_SEPARATORS = re.compile(r"[\s.\-‐‑–{}]+")


def _accented(match: re.Match[str]) -> str:
    if match["symbol"]:
        mark = _SYMBOL_ACCENTS[match["symbol"]]
        base = match["symbol_braced"] or match["symbol_bare"]
    else:
        mark = _LETTER_ACCENTS[match["letter"]]
        base = match["letter_braced"] or match["letter_bare"]
    # A dotless i or j under an accent is how TeX writes an accented i or j.
    base = {"ı": "i", "ȷ": "j"}.get(base, base)
    return base + mark


def decode_tex(text: str) -> str:
    """Replace TeX accent escapes such as ``G\\"okhan`` or ``Hau{\\ss}er`` with Unicode letters.

    Commands it does not know, such as math (``$\\alpha$``), are returned unchanged.
    """
    if "\\" not in text:
        return text
    text = _BRACED_LETTER.sub(lambda m: _LETTERS[m[1]], text)
    text = _BARE_LETTER.sub(lambda m: _LETTERS[m[1]], text)
    text = _BRACED_ACCENT.sub(_accented, text)
    text = _BARE_ACCENT.sub(_accented, text)
    return unicodedata.normalize("NFC", text)


@functools.lru_cache(maxsize=65536)
def fold_name(name: str) -> str:
    """Build a key for author matching: ``G\\"okhan``, ``Gökhan`` and ``GOKHAN`` fold alike.

    The key ignores case, accents and TeX escapes, and treats dots and hyphens as spaces,
    so "J.-P. Serre" and "J. P. Serre" both fold to "j p serre".
    """
    text = decode_tex(name).translate(FOLD_LETTERS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().translate(FOLD_LETTERS)
    return " ".join(_NAME_SEPARATORS.sub(" ", text).split())


def _split_top_level(text: str, separator: str) -> list[str] | None:
    """Split on separator outside parentheses; return None when the parentheses do not balance."""
    parts: list[str] = []
    depth = 0
    start = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and text.startswith(separator, index):
            parts.append(text[start:index])
            index += len(separator)
            start = index
            continue
        index += 1
    if depth != 0:
        return None
    parts.append(text[start:])
    return parts


def _strip_affiliations(name: str) -> str:
    name = re.sub(r"\([^()]*\)", " ", name)
    # An unbalanced "(" starts a cut-off affiliation: drop it and what follows.
    name = name.split("(", 1)[0].replace(")", " ")
    return " ".join(name.split())


def split_authors(creator: str) -> tuple[str, ...]:
    """Split a dc:creator string into author names, without their "(affiliation)" parts.

    Commas inside parentheses do not split. " and " splits only outside parentheses and
    only in the last comma-separated part ("A, B, and C" or "A and B").
    """
    parts = _split_top_level(creator, ",")
    if parts is None:
        # NOTE: with unbalanced parentheses the affiliation boundaries are unknown, so
        # every comma splits and stray affiliation text may remain in a name.
        parts = creator.split(",")

    last = parts[-1].strip()
    if last.startswith("and "):
        parts[-1] = last[len("and "):]
    else:
        tail = _split_top_level(last, " and ")
        if tail is not None and len(tail) == 2 and all(piece.strip() for piece in tail):
            parts[-1:] = tail

    names = (_strip_affiliations(part) for part in parts)
    return tuple(name for name in names if name)
