"""How many of a model's picks a free ranking keeps: the figures behind `paperdigest eval`.

Inputs are a listing, the picks of a digest and a topics file:

- listing: a JSON Lines file with one paper per line ({id, title, authors, summary or abstract,
  categories}, as the daily-arXiv-ai-enhanced projects write it), or an RSS feed file as saved by
  `paperdigest fetch`;
- picks: a paperdigest digest JSON (its papers marked relevant), or a JSON object keyed by arXiv id
  as gpt_paper_assistant and its forks write it;
- topics: the text of topics.md, or of another tool's topic list.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from paperdigest.arxiv.source import in_categories
from paperdigest.errors import ConfigError
from paperdigest.models import Paper
from paperdigest.ranking import Ranked

TOP_N = (10, 20)
KEEP_SHARES = (0.4, 0.6, 0.8)
_VERSION = re.compile(r"v(\d+)$")
_ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7}")


@dataclass(frozen=True)
class Evaluation:
    """One ranker's result against the picks."""

    ranker: str
    papers: int
    picks: int  # picks present in the listing
    pick_ranks: tuple[int, ...]  # sorted
    seconds: float = 0.0

    def in_top(self, n: int) -> int:
        return sum(1 for rank in self.pick_ranks if rank <= n)

    def kept_at(self, share: float) -> int:
        """Picks within the top ceil(share * papers) places, as a prefilter keeping that share would keep."""
        return self.in_top(math.ceil(share * self.papers - 1e-9))

    def to_dict(self) -> dict:
        return {
            "ranker": self.ranker,
            "papers": self.papers,
            "picks": self.picks,
            **{f"top_{n}": self.in_top(n) for n in TOP_N},
            **{f"kept_at_{round(s * 100)}": self.kept_at(s) for s in KEEP_SHARES},
            "pick_ranks": list(self.pick_ranks),
            "seconds": round(self.seconds, 3),
        }


def evaluate(ranker: str, ranking: Sequence[Ranked], picks: set[str], seconds: float = 0.0) -> Evaluation:
    ranks = sorted(item.rank for item in ranking if item.paper.id in picks)
    return Evaluation(ranker, len(ranking), len(ranks), tuple(ranks), seconds)


def load_listing_file(path: Path) -> list[Paper]:
    """Read papers from a JSON Lines listing or a saved RSS feed, de-duplicated by id."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the listing {path}: {exc.strerror}") from None
    if data.lstrip().startswith(b"<"):
        from paperdigest.arxiv.rss import parse_feed

        return list(parse_feed(data, str(path)).papers)
    text = data.decode("utf-8", errors="replace")
    if text.lstrip().startswith("["):
        try:
            lines = [json.dumps(entry) for entry in json.loads(text)]
        except ValueError as exc:
            raise ConfigError(f"the listing {path} starts like a JSON array but is not valid JSON: {exc}") from None
    else:
        lines = text.splitlines()
    papers: dict[str, Paper] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            paper = _paper_from_entry(entry)
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(
                f"{path}, line {number}: not a paper of a JSON Lines listing ({exc}); each line needs "
                "an id and a title, and a summary or abstract to rank by"
            ) from None
        earlier = papers.get(paper.id)
        # A paper listed under two categories appears twice; keep the record with more text.
        if earlier is None or len(paper.abstract) > len(earlier.abstract):
            papers[paper.id] = paper
    if not papers:
        raise ConfigError(f"the listing {path} contains no papers")
    return list(papers.values())


def select_categories(papers: Sequence[Paper], categories: Sequence[str]) -> list[Paper]:
    """Keep the papers listed in any of the categories or archives ("cs"), primary or cross-list."""
    selected = {c.casefold() for c in categories}
    return [p for p in papers if any(in_categories(code.casefold(), selected) for code in p.categories)]


def _paper_from_entry(entry: dict) -> Paper:
    if not isinstance(entry, dict):
        raise ValueError(f"expected a JSON object, found {type(entry).__name__}")
    if not isinstance(entry.get("id"), str) or not entry["id"].strip():
        raise ValueError(f"id {entry.get('id')!r} is not an arXiv id")
    if not isinstance(entry.get("title"), str):
        raise ValueError("the title is missing")
    raw_id = entry["id"].strip().rsplit("/abs/", 1)[-1]
    version_match = _VERSION.search(raw_id)
    paper_id = _VERSION.sub("", raw_id)
    abstract = entry.get("summary") or entry.get("abstract") or ""
    authors = entry.get("authors") or []
    if isinstance(authors, str):
        authors = [a.strip() for a in authors.split(",") if a.strip()]
    return Paper(
        id=paper_id,
        version=int(version_match.group(1)) if version_match else 1,
        title=" ".join(str(entry["title"]).split()),
        authors=tuple(str(a) for a in authors),
        abstract=" ".join(str(abstract).split()),
        categories=tuple(str(c) for c in _categories(entry.get("categories"))),
        announce_type="new",
    )


def _categories(value) -> list:
    """Categories as a list: the arXiv metadata snapshot writes them as one space-separated string."""
    if isinstance(value, str):
        return value.split()
    return list(value or ())


def load_picks(path: Path) -> set[str]:
    """Read the picked arXiv ids from a paperdigest digest JSON or a gpt_paper_assistant output JSON."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the picks {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"the picks {path} are not JSON: {exc}") from None
    if isinstance(document, dict) and isinstance(document.get("papers"), list):
        picks = {str(p["id"]) for p in document["papers"] if isinstance(p, dict) and "id" in p and _picked(p, document)}
    elif isinstance(document, dict):
        picks = {_VERSION.sub("", str(key)) for key in document}
        strays = sorted(key for key in picks if not _ARXIV_ID.fullmatch(key))
        if strays:
            raise ConfigError(
                f"{path}: the keys {', '.join(repr(k) for k in strays[:3])} are not arXiv ids; give a paperdigest "
                "digest JSON (with a papers list) or an object keyed by arXiv id"
            )
    else:
        raise ConfigError(
            f"{path} is neither a paperdigest digest JSON (with a papers list) nor an object keyed by arXiv id"
        )
    if not picks:
        raise ConfigError(f"{path} contains no picked papers, so there is nothing to evaluate")
    return picks


def _picked(paper: dict, document: dict) -> bool:
    """Tell whether the digest's scores selected the paper; a followed author's paper needs its scores."""
    if not paper.get("relevant"):
        return False
    if not paper.get("followed"):
        return True
    cutoffs = document.get("cutoffs") if isinstance(document.get("cutoffs"), dict) else {}
    relevance, novelty = paper.get("relevance"), paper.get("novelty")
    if not isinstance(relevance, int) or relevance < (cutoffs.get("relevance") or 0):
        return False
    return novelty is None or not isinstance(cutoffs.get("novelty"), int) or novelty >= cutoffs["novelty"]


def format_table(results: Sequence[Evaluation]) -> str:
    """Format the figures as a Markdown table, one row per ranker."""
    header = (
        "| ranker | picks in top 10 | in top 20 | kept at 40% | kept at 60% | kept at 80% | seconds |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    rows = [
        f"| {r.ranker} | {r.in_top(10)} of {r.picks} | {r.in_top(20)} | {r.kept_at(0.4)} | "
        f"{r.kept_at(0.6)} | {r.kept_at(0.8)} | {r.seconds:.2f} |"
        for r in results
    ]
    return "\n".join([header, *rows])


def format_ranks(results: Sequence[Evaluation]) -> str:
    return "\n".join(f"{r.ranker}: ranks of the {r.picks} picks among {r.papers}: {list(r.pick_ranks)}" for r in results)
