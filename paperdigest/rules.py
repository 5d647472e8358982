"""Author and keyword rules: every paper is kept as a candidate or dropped with a reason."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from paperdigest.config import RuleSettings
from paperdigest.models import Paper
from paperdigest.tex import fold_name


@dataclass(frozen=True)
class Keyword:
    """A case-insensitive phrase on word boundaries, or a regular expression written /.../."""

    text: str
    pattern: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> Keyword:
        if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
            # NOTE: Python's re has no time limit, so a pattern with nested quantifiers such as
            # /(\w+\s?)+$/ can backtrack for minutes on one abstract. Nothing here detects that.
            return cls(text, re.compile(text[1:-1], re.IGNORECASE))
        words = [re.escape(word) for word in text.split()]
        return cls(text, re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE))

    def matches(self, text: str) -> bool:
        return self.pattern.search(text) is not None


@dataclass(frozen=True)
class Triage:
    """Outcome of the rules for one listing."""

    candidates: tuple[Paper, ...]  # in listing order, followed-author papers included
    dropped: dict[str, str]  # paper id -> reason
    followed: dict[str, tuple[str, ...]]  # paper id -> the followed authors it names
    prefiltered: dict[str, str] = field(default_factory=dict)  # paper id -> why the prefilter cut it


class Rules:
    """Compiled [rules] and [arxiv] announce_types."""

    def __init__(self, settings: RuleSettings, announce_types: Iterable[str]):
        self.announce_types = tuple(announce_types)
        self.followed = {fold_name(name): name for name in settings.authors}
        self.excluded_authors = {fold_name(name): name for name in settings.exclude_authors}
        self.keywords = [Keyword.parse(k) for k in settings.keywords]
        self.excluded_keywords = [Keyword.parse(k) for k in settings.exclude_keywords]

    def followed_authors(self, paper: Paper) -> tuple[str, ...]:
        return tuple(a for a in paper.authors if fold_name(a) in self.followed)

    def drop_reason(self, paper: Paper) -> str | None:
        """Return why the paper is dropped, or None when it is a candidate.

        Followed authors override every rule except the announce type.
        """
        if paper.announce_type not in self.announce_types:
            return f"announce type {paper.announce_type} not in [arxiv] announce_types"
        if self.followed and self.followed_authors(paper):
            return None
        for author in paper.authors if self.excluded_authors else ():
            name = self.excluded_authors.get(fold_name(author))
            if name is not None:
                return f"excluded author {name}"
        text = f"{paper.title}\n{paper.abstract}"
        for keyword in self.excluded_keywords:
            if keyword.matches(text):
                return f'excluded keyword "{keyword.text}"'
        if self.keywords and not any(k.matches(text) for k in self.keywords):
            return "no keyword of [rules] keywords matched"
        return None

    def triage(self, papers: Sequence[Paper]) -> Triage:
        candidates: list[Paper] = []
        dropped: dict[str, str] = {}
        followed: dict[str, tuple[str, ...]] = {}
        for paper in papers:
            reason = self.drop_reason(paper)
            if reason is not None:
                dropped[paper.id] = reason
                continue
            candidates.append(paper)
            names = self.followed_authors(paper) if self.followed else ()
            if names:
                followed[paper.id] = names
        return Triage(tuple(candidates), dropped, followed)
