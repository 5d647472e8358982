"""Loose phrase matching for the offline rankers: light stemming, then a scan for known phrases.

"quantization", "quantized" and "quantize" share the stem "quantiz", so a topic that names one
matches papers that use another. Stemming here is a short suffix list, not a linguistic stemmer:
it only has to map the forms of one word together, and a rare false match costs little.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from paperdigest.tex import FOLD_LETTERS, decode_tex

_WORD = re.compile(r"[A-Za-z0-9]+")
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_PLURAL_ABBREVIATION = re.compile(r"[A-Z0-9-]*[A-Z][A-Z0-9-]*[A-Z]s")
_ABBREVIATION = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
# Suffixes stripped after the plural: one of them, the longest that leaves at least _MIN_STEM letters.
_SUFFIXES = tuple(
    sorted(
        "ations ation ity ness ment ing ed e ency ent ly al ive ic".split(),
        key=len,
        reverse=True,
    )
)
_SINGULAR_KEEP = ("ss", "us", "is", "as")  # "compress", "corpus", "analysis", "bias" are no plurals
_MIN_STEM = 4
# Longest phrase that is a term; longer list items are descriptions ("parameter-efficient
# fine-tuning" is four words here, since hyphens split words).
MAX_TERM_WORDS = 5
STOPWORDS = frozenset(
    """
    a an the of and or for on in to with without by from into via using use based its their that this these
    those as at be is are such etc any all other e g i
    """.split()
)
# Words too common in abstracts to be a term on their own; they still count inside a phrase.
GENERIC = frozenset(
    """
    method approach model architecture advance innovation analysis work task existing standard known
    insight breakthrough technique application improvement contribution certain mere straightforward
    incremental novel pure new algorithm algorithmic system network learning data result
    """.split()
)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Lower-case the word, make a plural singular, then strip one common suffix (at least four letters stay)."""
    word = _singular(word.lower())
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


def _singular(word: str) -> str:
    """policies -> policy, applied -> apply, approaches -> approach, gradients -> gradient, LLMs -> llm."""
    if len(word) > 4 and word.endswith(("ies", "ied")):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(_SINGULAR_KEEP):
        return word[:-1]
    return word


def stems(text: str) -> list[str]:
    """Stems of the text's words, stop words left out as terms leave them out."""
    return [stem(word) for word in _WORD.findall(fold_text(text)) if word.lower() not in STOPWORDS]


def fold_text(text: str) -> str:
    """Decode TeX accents and drop diacritics: Schr\\"odinger, Schrödinger and Schrodinger match."""
    if "\\" in text:
        text = decode_tex(text)
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text).translate(FOLD_LETTERS)
    return _COMBINING.sub("", text)


_GENERIC_STEMS = frozenset(stem(word) for word in GENERIC)


@dataclass(frozen=True)
class Term:
    """A phrase to look for: its words' stems, or the exact text for an abbreviation such as MoE."""

    text: str
    words: tuple[str, ...]
    exact_case: bool = False

    @property
    def key(self) -> tuple[str, ...]:
        return ("=" + self.text,) if self.exact_case else self.words


def make_term(phrase: str, exact_case: bool = False) -> Term | None:
    """Build a term from a phrase of one to MAX_TERM_WORDS meaningful words; None when it is not one.

    A single generic word ("methods", "architecture") is no term, but it counts inside a phrase.
    """
    phrase = " ".join(phrase.split())
    if exact_case:
        return Term(phrase, (phrase,), exact_case=True) if _ABBREVIATION.fullmatch(phrase) else None
    words = [w for w in _WORD.findall(fold_text(phrase)) if w.lower() not in STOPWORDS]
    stemmed = tuple(stem(w) for w in words)
    if not 1 <= len(stemmed) <= MAX_TERM_WORDS:
        return None
    if all(s in _GENERIC_STEMS or s.isdigit() or len(s) < 2 for s in stemmed):
        return None
    return Term(phrase, stemmed)


class PhraseIndex:
    """Counts the occurrences of many terms in a text with one pass over its words.

    A phrase also matches with its first two words written as one: "spatio-temporal" and
    "spatiotemporal", "low-rank" and "lowrank". A one-word term also matches two adjacent words
    that join into it: "finetuning" matches "fine-tuning".
    """

    def __init__(self, terms: Iterable[Term]):
        self.terms = list({term.key: term for term in terms}.values())
        self._by_first: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        exact: dict[str, tuple[str, ...]] = {}  # abbreviation as written (singular) -> term key
        # One-word terms by stem, and every leading part of them, to find words split in two.
        self._single: dict[str, tuple[str, ...]] = {}
        self._heads: set[str] = set()
        for term in self.terms:
            if term.exact_case:
                # An abbreviation matches as written, with an optional plural: MoE and MoEs, and
                # one written as a plural matches its singular: GNNs and GNN.
                base = term.text[:-1] if _PLURAL_ABBREVIATION.fullmatch(term.text) else term.text
                exact.setdefault(base, term.key)
                continue
            forms = [term.words]
            if len(term.words) == 1:
                self._single[term.words[0]] = term.key
                self._heads.update(term.words[0][:cut] for cut in range(3, len(term.words[0]) - 2))
            if len(term.words) >= 2:
                forms.append((stem(term.words[0] + term.words[1]), *term.words[2:]))
            for words in forms:
                self._by_first.setdefault(words[0], []).append((term.key, words))
        # All abbreviations in one pattern, longest first, so a text is scanned once for them.
        self._exact = exact
        alternatives = "|".join(re.escape(text) for text in sorted(exact, key=len, reverse=True))
        self._exact_pattern = (
            re.compile(r"(?<![A-Za-z0-9])(" + alternatives + r")s?(?![A-Za-z0-9])") if exact else None
        )

    def count(self, text: str) -> Counter[tuple[str, ...]]:
        """Occurrences of each term in the text, by term key; terms that do not occur are absent."""
        found: Counter[tuple[str, ...]] = Counter()
        words = stems(text)
        by_first = self._by_first
        heads = self._heads
        for index, word in enumerate(words):
            candidates = by_first.get(word)
            if candidates:
                for key, form in candidates:
                    size = len(form)
                    if size == 1 or tuple(words[index : index + size]) == form:
                        found[key] += 1
            if word in heads and index + 1 < len(words):
                joined = self._single.get(stem(word + words[index + 1]))
                if joined is not None:
                    found[joined] += 1
        if self._exact_pattern is not None:
            for match in self._exact_pattern.finditer(text):
                found[self._exact[match.group(1)]] += 1
        return found
