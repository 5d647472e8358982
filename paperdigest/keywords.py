"""The offline keyword scorer: ranks candidates by rule keywords and the terms of topics.md."""

from __future__ import annotations

import re
from collections.abc import Sequence

from paperdigest.models import Paper, Score
from paperdigest.rules import Keyword
from paperdigest.scoring import ScoringOutcome

_WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}")
_STOPWORDS = frozenset(
    """
    about above after again against also among and any are because been before being below between both
    but can could does doing down during each even every from further have having here into itself just like
    more most must never only other over same should some such than that their them then there these they
    this those through under until very what when where which while will with without would your yours
    paper papers reader relevant irrelevant topic topics keep pass work known task field score scores method
    methods new using used use areas follows follow signal match unless less variants designs
    """.split()
)
_GENERIC_WORDS = frozenset({"methods", "method", "variants", "other", "new", "designs", "advances", "the", "a", "an"})


def topic_terms(topics: str) -> list[str]:
    """Pick matchable terms from topics.md: short phrases listed after a colon, plus abbreviations.

    Lines labelled "Relevant:" or "Keywords ...:" are preferred; lines about what the reader does
    not follow are skipped. Without such lines, every listed phrase counts, then every long word.
    """
    labelled: list[str] = []
    listed: list[str] = []
    for line in topics.splitlines():
        label, colon, body = line.partition(":")
        label = label.lower()
        if not colon or "not" in label or "score low" in label:
            continue
        terms = _phrases(body)
        if "relevant" in label or "keyword" in label:
            labelled.extend(terms)
        listed.extend(terms)
    terms = labelled or listed
    if not terms:
        terms = [w for w in _WORD.findall(topics) if w.lower() not in _STOPWORDS]
    return list(dict.fromkeys(terms))


def _phrases(body: str) -> list[str]:
    """Split a comma-separated list into phrases of one to three meaningful words."""
    phrases = re.findall(r"\(([A-Z][A-Za-z]{1,8})\)", body)
    body = re.sub(r"\(.*?\)", "", body)
    for part in re.split(r"[,;.]|\band\b|\bor\b", body):
        words = [w for w in part.split() if w.lower() not in _GENERIC_WORDS]
        if 1 <= len(words) <= 3 and all(len(w) > 2 and w.lower() not in _STOPWORDS for w in words):
            phrases.append(" ".join(words))
    return phrases


def _term_pattern(term: str) -> re.Pattern[str]:
    """Match a topic term loosely: hyphens and spaces alike, an optional plural ending."""
    words = [re.escape(w) for w in re.split(r"[\s-]+", term.strip()) if w]
    last = words[-1]
    if len(last) > 4 and last.endswith("s") and not last.endswith("ss"):
        last = last[:-1]
    words[-1] = last + "(?:s|es)?"
    return re.compile(r"(?<!\w)" + r"[\s-]+".join(words) + r"(?!\w)", re.IGNORECASE)


class KeywordScorer:
    """Offline scorer: ranks candidates by matches of the rule keywords and the terms of topics.md.

    A term found in the title counts 3 points, in the abstract 2; relevance is 1 plus the points,
    capped at 10. It has no notion of novelty, so novelty repeats the relevance score.
    """

    name = "keywords"

    def __init__(self, keywords: Sequence[str], topics: str):
        self.terms: list[tuple[str, re.Pattern[str]]] = [(k, Keyword.parse(k).pattern) for k in keywords]
        self.terms += [(t, _term_pattern(t)) for t in topic_terms(topics) if t not in keywords]

    def score(self, candidates: Sequence[Paper]) -> ScoringOutcome:
        outcome = ScoringOutcome()
        for paper in candidates:
            in_title = [text for text, pattern in self.terms if pattern.search(paper.title)]
            in_abstract = [text for text, pattern in self.terms if text not in in_title and pattern.search(paper.abstract)]
            relevance = max(1, min(10, 1 + 3 * len(in_title) + 2 * len(in_abstract)))
            if in_title or in_abstract:
                comment = "Keyword matches: " + ", ".join(in_title + in_abstract) + "."
            else:
                comment = "No keyword matched."
            outcome.scores[paper.id] = Score(paper.id, relevance, relevance, comment)
        return outcome
