"""Free rankings of a day's papers against topics.md: the offline scorer and the prefilter use them.

Three rankers, by name:

- ``keywords``: weighted matches of the rule keywords and of the terms of topics.md. A term in the
  title counts TITLE_WEIGHT, in the abstract ABSTRACT_WEIGHT (growing with the log of the count),
  each scaled by the term's inverse document frequency over the papers being ranked, so terms
  that most papers share count little. Terms of the areas the reader does not follow subtract;
  application areas subtract half as much. When topics.md asks for methods or theory over
  applications, cue words of either kind of paper ("we prove", "a dataset of") add a small signal.
- ``embeddings``: cosine similarity of the paper's WordLlama vector with each topic section (or,
  without sections, with the keyword list); the closest section counts.
- ``keywords+embeddings``: both, each signal scaled to zero mean and unit spread over the day,
  then added.

The weights are fixed constants below, set by reading two topics files and checked on one real
day (docs/benchmarks.md gives the day and the figures). No run fits them to its own papers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from paperdigest.errors import ConfigError
from paperdigest.models import Paper, Score
from paperdigest.rules import Keyword
from paperdigest.scoring import ScoringOutcome
from paperdigest.textmatch import PhraseIndex, Term, make_term
from paperdigest.topics import TopicProfile

RANKERS = ("keywords", "embeddings", "keywords+embeddings")

TITLE_WEIGHT = 3.0
ABSTRACT_WEIGHT = 1.0
KEYWORD_WEIGHT = 1.5  # terms listed as keywords, in topics.md or [rules] keywords
SECTION_WEIGHT = 1.0  # terms of a topic section
NEGATIVE_WEIGHT = 1.0
APPLICATION_WEIGHT = 0.5
STYLE_WEIGHT = 0.5  # weight of the methods-or-theory cue signal in the sum of scaled signals

# Cues of a paper about methods or theory, and of an applied paper. Used only when topics.md
# states a preference for foundational work over applications.
THEORY_CUES = (
    "theorem", "prove", "proof", "provably", "bound", "guarantee", "convergence", "theoretical", "theory",
    "characterize", "expressive", "asymptotic", "lemma", "formal", "principled", "complexity",
    "generalization", "optimization landscape", "training dynamics", "scaling law",
)  # fmt: skip
APPLIED_CUES = (
    "dataset", "benchmark", "clinical", "patient", "case study", "deploy", "real world", "industrial",
    "hospital", "student", "survey", "pipeline", "agent", "tool", "user", "prompting",
)  # fmt: skip

# Relevance from the place in the day's ranking: the top 5% get 10, each next 5% one less down to
# 7, then wider bands. With the default cutoff of 7, at most the top 20% reach the digest.
RELEVANCE_BANDS = (0.05, 0.10, 0.15, 0.20, 0.30, 0.40, 0.55, 0.70, 0.85)
# Bands are shares of at least this many papers, so a small pool, such as the few candidates left
# by [rules] keywords, is not cut to its top 20%: 5 candidates get 10, 9, 8, 7 and 6.
MIN_BAND_POOL = 20
# Without embeddings, a paper that matches no topic term and no theory cue gets at most this relevance.
UNMATCHED_MAX_RELEVANCE = 3


@dataclass(frozen=True)
class Ranked:
    """A paper's place in a ranking, with the evidence behind it."""

    paper: Paper
    rank: int  # 1 is the best
    score: float  # the sum of scaled signals; only the order matters
    matched: tuple[str, ...] = ()  # topic terms found, title matches first
    against: tuple[str, ...] = ()  # terms of areas the reader does not follow
    applied: tuple[str, ...] = ()  # terms of application areas
    cues: tuple[str, ...] = ()  # methods-or-theory cue words found, when the topics ask for them
    topic: str = ""  # the closest topic section (embeddings)
    similarity: float | None = None  # cosine similarity with that section


class Ranker:
    """Ranks papers with one of RANKERS against the topics and the [rules] keywords."""

    def __init__(self, method: str, profile: TopicProfile, rule_keywords: Sequence[str] = (), store=None):
        if method not in RANKERS:
            raise ConfigError(f"unknown ranker {method!r}; choose one of {', '.join(RANKERS)}")
        self.method = method
        self.profile = profile
        self.rule_keywords = tuple(rule_keywords)
        self.uses_keywords = "keywords" in method
        self.embedder = None
        if "embeddings" in method:
            from paperdigest.embeddings import Embedder

            self.embedder = Embedder(store)
        # A [rules] keyword that makes no stemmed term (a regex, a lone generic word, a long
        # phrase) is matched as the rules match it: its exact pattern.
        rule_terms = {k: None if _is_regex(k) else make_term(k) for k in rule_keywords}
        self.rule_patterns = [(k, Keyword.parse(k).pattern) for k, term in rule_terms.items() if term is None]
        keyword_keys = {t.key for t in profile.keywords}
        self.weights: dict[tuple[str, ...], float] = {}
        positive: list[Term] = []
        for term in (*[t for t in rule_terms.values() if t is not None], *profile.keywords):
            self.weights[term.key] = KEYWORD_WEIGHT
            positive.append(term)
        for term in profile.positive:
            if term.key not in keyword_keys:
                self.weights.setdefault(term.key, SECTION_WEIGHT)
                positive.append(term)
        theory = [t for t in (make_term(c) for c in THEORY_CUES) if t]
        applied = [t for t in (make_term(c) for c in APPLIED_CUES) if t]
        # One index for every kind of term, so each title and abstract is read once.
        self.index = PhraseIndex([*positive, *profile.negative, *profile.application, *theory, *applied])
        self.names = {t.key: t.text for t in (*positive, *profile.negative, *profile.application)}
        self.positive_keys = {t.key for t in positive}
        self.negative_keys = {t.key for t in profile.negative} - self.positive_keys
        self.application_keys = {t.key for t in profile.application} - self.positive_keys - self.negative_keys
        self.theory_keys = {t.key for t in theory}
        self.cue_names = {t.key: t.text for t in theory}
        self.applied_keys = {t.key for t in applied} - self.positive_keys

    def rank(self, papers: Sequence[Paper]) -> list[Ranked]:
        """Rank the papers, best first; ties keep the given order."""
        if not papers:
            return []
        signals: list[tuple[float, list[float]]] = []
        matched: list[tuple[str, ...]] = [()] * len(papers)
        against: list[tuple[str, ...]] = [()] * len(papers)
        applied: list[tuple[str, ...]] = [()] * len(papers)
        cues: list[tuple[str, ...]] = [()] * len(papers)
        topics = [""] * len(papers)
        similarities: list[float | None] = [None] * len(papers)
        counts = [(self.index.count(p.title), self.index.count(p.abstract)) for p in papers] if self.uses_keywords else []

        if self.uses_keywords:
            lexical, matched, against, applied = self._lexical(papers, counts)
            signals.append((1.0, lexical))
        if self.embedder is not None:
            sims, topics = self._embedding(papers)
            similarities = list(sims)
            signals.append((1.0, list(sims)))
        if self.profile.prefers_foundational and self.uses_keywords:
            style, cues = self._style(counts)
            signals.append((STYLE_WEIGHT, style))

        totals = [0.0] * len(papers)
        for weight, values in signals:
            for index, value in enumerate(_standardize(values)):
                totals[index] += weight * value
        order = sorted(range(len(papers)), key=lambda i: -totals[i])
        return [
            Ranked(papers[i], place, totals[i], matched[i], against[i], applied[i], cues[i], topics[i], similarities[i])
            for place, i in enumerate(order, 1)
        ]

    def _lexical(self, papers: Sequence[Paper], counts) -> tuple[list[float], list[tuple[str, ...]], list[tuple[str, ...]], list[tuple[str, ...]]]:
        regex_hits = [
            [(text, len(p.findall(paper.title)), len(p.findall(paper.abstract))) for text, p in self.rule_patterns]
            for paper in papers
        ]
        total = len(papers)
        document_frequency: dict[tuple[str, ...] | str, int] = {}
        for (title_hits, abstract_hits), rule_hits in zip(counts, regex_hits):
            for key in {*title_hits, *abstract_hits}:
                document_frequency[key] = document_frequency.get(key, 0) + 1
            for text, in_title, in_abstract in rule_hits:
                if in_title or in_abstract:
                    document_frequency[text] = document_frequency.get(text, 0) + 1

        def idf(key) -> float:
            return math.log((total + 1) / (document_frequency.get(key, 0) + 0.5))

        def strength(in_title: int, in_abstract: int) -> float:
            value = TITLE_WEIGHT if in_title else 0.0
            if in_abstract:
                value += ABSTRACT_WEIGHT * (1 + math.log(in_abstract))
            return value

        names = self.names
        scores, matched, against, applied = [], [], [], []
        for (title_hits, abstract_hits), rule_hits in zip(counts, regex_hits):
            score = 0.0
            found: list[str] = []
            present = {*title_hits, *abstract_hits}
            for key in sorted(present & self.positive_keys, key=lambda k: (k not in title_hits, names[k])):
                score += self.weights[key] * idf(key) * strength(title_hits[key], abstract_hits[key])
                found.append(names[key])
            for text, in_title, in_abstract in rule_hits:
                if in_title or in_abstract:
                    score += KEYWORD_WEIGHT * idf(text) * strength(in_title, in_abstract)
                    found.append(text)
            not_followed: list[str] = []
            application: list[str] = []
            for key in sorted(present & (self.negative_keys | self.application_keys), key=lambda k: names[k]):
                weight = NEGATIVE_WEIGHT if key in self.negative_keys else APPLICATION_WEIGHT
                score -= weight * idf(key) * (TITLE_WEIGHT * bool(title_hits[key]) + ABSTRACT_WEIGHT * bool(abstract_hits[key]))
                (not_followed if key in self.negative_keys else application).append(names[key])
            scores.append(score)
            matched.append(tuple(dict.fromkeys(found)))
            against.append(tuple(not_followed))
            applied.append(tuple(application))
        return scores, matched, against, applied

    def _style(self, counts) -> tuple[list[float], list[tuple[str, ...]]]:
        """Count theory cues minus applied cues per paper; also return the theory cues found."""
        values, found = [], []
        for title_hits, abstract_hits in counts:
            present = {*title_hits, *abstract_hits}
            theory = present & self.theory_keys
            values.append(float(len(theory) - len(present & self.applied_keys)))
            found.append(tuple(sorted(self.cue_names[key] for key in theory)))
        return values, found

    def _embedding(self, papers: Sequence[Paper]):
        import numpy as np

        assert self.embedder is not None
        sections = [(s.title, s.text) for s in self.profile.sections]
        keywords = [t.text for t in self.profile.keywords] or [k.strip("/") for k in self.rule_keywords]
        if not sections and keywords:
            sections = [("keywords", ", ".join(keywords))]
        if not sections:
            return np.zeros(len(papers)), [""] * len(papers)
        topic_vectors = self.embedder.embed_texts([text for _, text in sections])
        paper_vectors = self.embedder.embed_papers(papers)
        similarity = paper_vectors @ topic_vectors.T
        best = similarity.argmax(axis=1)
        return similarity.max(axis=1).astype(float), [sections[int(i)][0] for i in best]


def _is_regex(keyword: str) -> bool:
    return len(keyword) > 2 and keyword.startswith("/") and keyword.endswith("/")


def _standardize(values: Sequence[float]) -> list[float]:
    """Scale to zero mean and unit standard deviation; all zeros when the values do not vary."""
    count = len(values)
    mean = sum(values) / count
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / count)
    if spread < 1e-12:
        return [0.0] * count
    return [(v - mean) / spread for v in values]


def relevance_for(rank: int, total: int) -> int:
    """Map a place in the day's ranking to the 1-10 relevance scale by RELEVANCE_BANDS."""
    share = rank / max(total, MIN_BAND_POOL)
    for index, bound in enumerate(RELEVANCE_BANDS):
        if share <= bound + 1e-9:
            return 10 - index
    return 1


def keep_count(keep: float | int, total: int) -> int:
    """Papers a prefilter keeps: a fraction (0 < keep <= 1, as a float) or a count (an int >= 1)."""
    if isinstance(keep, float):
        return min(total, math.ceil(keep * total - 1e-9))
    return min(total, keep)


def weak_ranking_warning(ranking: Sequence[Ranked], method: str) -> str:
    """Explain a keywords ranking in which no paper matched a topic term; "" when some did."""
    if "embeddings" in method or not ranking or any(item.matched for item in ranking):
        return ""
    return (
        f"no term of topics.md or [rules] keywords matched any of the {len(ranking)} papers, so the {method} "
        "ranking follows the listing order and theory cues only. Check that topics.md lists your topics as "
        "phrases (see the README's layouts), or use the embeddings ranker"
    )


class OfflineScorer:
    """Scores candidates with a Ranker instead of a model: no key, no cost, novelty not assessed."""

    def __init__(self, ranker: Ranker):
        self.ranker = ranker
        self.name = ranker.method

    def score(self, candidates: Sequence[Paper]) -> ScoringOutcome:
        outcome = ScoringOutcome()
        ranking = self.ranker.rank(candidates)
        total = len(ranking)
        warning = weak_ranking_warning(ranking, self.ranker.method)
        if warning:
            outcome.warnings.append(warning)
        place = 0
        for index, item in enumerate(ranking):
            # Papers with equal scores share the place of the first of them, so they get one relevance.
            if index == 0 or item.score < ranking[index - 1].score - 1e-9:
                place = item.rank
            relevance = relevance_for(place, total)
            if self.ranker.embedder is None and not item.matched and not item.cues:
                relevance = min(relevance, UNMATCHED_MAX_RELEVANCE)
            outcome.scores[item.paper.id] = Score(item.paper.id, relevance, None, describe(item, total), rank=item.rank)
        return outcome


def describe(item: Ranked, total: int) -> str:
    """Write the digest comment of an offline score: the place in the ranking and its evidence."""
    parts = [f"Offline ranking: {item.rank} of {total}."]
    if item.matched:
        parts.append("Matches: " + ", ".join(item.matched[:8]) + ".")
    if item.topic:
        parts.append(f"Closest topic: {item.topic} (similarity {item.similarity:.2f}).")
    if item.cues:
        parts.append("Methods-or-theory cues: " + ", ".join(item.cues[:5]) + ".")
    if item.against:
        parts.append("Areas not followed: " + ", ".join(item.against[:5]) + ".")
    if item.applied:
        parts.append("Application areas: " + ", ".join(item.applied[:5]) + ".")
    if len(parts) == 1:
        parts.append("No topic term matched.")
    return " ".join(parts)

