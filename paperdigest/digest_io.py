"""Read a digest back from the JSON that render.render_json writes.

load_digest_json is the inverse of render_json for every field that the JSON stores, so
render_json(load_digest_json(text)) == text for any text that render_json wrote, with the
exceptions below. Some facts of a Digest are not in the JSON and come back as defaults:

- Paper.abstract is "" unless the paper's object has an "abstract" key.
- results come back in the JSON's order: the selected papers first, then the rest in
  listing order. render_json writes the same order again, but digest.results no longer
  keeps the listing order of the selected papers.
- Cost keeps only the rounded prompt and completion dollars, so the total is their sum.
  NOTE: that sum can differ from the stored "total" by one millionth of a dollar.

Derived values ("counts", "total_tokens", "url", the cost "total") are not read back. When
they disagree with the papers, a warning is logged, because the file was probably edited.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Mapping
from typing import Any

from paperdigest.errors import PaperdigestError
from paperdigest.models import ANNOUNCE_TYPES, Cost, Digest, Fate, Paper, PaperResult, PrefilterReport, PromptText, Score, Usage
from paperdigest.textclean import strip_unsafe

logger = logging.getLogger(__name__)

DEFAULT_SOURCE = "digest JSON"
DEFAULT_NOVELTY_CUTOFF = 7  # replaces a null cutoff; it applies to no score, since none has a novelty
_FATES = {fate.value: fate for fate in Fate}


class DigestFormatError(PaperdigestError):
    """A digest JSON file is not valid JSON or lacks a key that render_json writes."""


def load_digest_json(text: str, source: str = DEFAULT_SOURCE) -> Digest:
    """Parse the text of a digest JSON file (as render_json wrote it) into a Digest.

    `source` names the file in error messages. Raises DigestFormatError for invalid JSON
    and for a missing key or a value of the wrong type, naming the key.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DigestFormatError(
            f"{source} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}. "
            "Write it again with `paperdigest run`."
        ) from error
    return digest_from_dict(data, source)


def digest_from_dict(data: Any, source: str = DEFAULT_SOURCE) -> Digest:
    """Build a Digest from the dict that render.digest_to_dict returns."""
    reader = _Reader(source)
    root = reader.mapping(data, "the top level")

    date_text = reader.string(root, "date")
    try:
        date = dt.date.fromisoformat(date_text)
    except ValueError as error:
        raise reader.error("date", f"{date_text!r} is not a date in YYYY-MM-DD form") from error

    cutoffs = reader.mapping(reader.field(root, "cutoffs"), "cutoffs")
    papers = reader.sequence(reader.field(root, "papers"), "papers")
    results = tuple(_result_from_dict(reader, item, f"papers[{index}]") for index, item in enumerate(papers))
    _check_unique_ids(reader, results)

    digest = Digest(
        date=date,
        model=reader.string(root, "model"),
        scorer=reader.string(root, "scorer"),
        categories=tuple(reader.strings(root, "categories")),
        results=results,
        usage=_usage_from_dict(reader, reader.field(root, "usage")),
        cost=_cost_from_dict(reader, reader.field(root, "cost_usd")),
        prompt=_prompt_from_dict(reader, reader.field(root, "prompt")),
        source=reader.string(root, "source"),
        relevance_cutoff=reader.integer(cutoffs, "relevance", "cutoffs.relevance"),
        novelty_cutoff=_novelty_cutoff(reader, cutoffs),
        notice=reader.string(root, "notice"),
        warnings=tuple(reader.strings(root, "warnings")),
        prefilter=_prefilter_from_dict(reader, root.get("prefilter")),
    )
    _warn_on_stale_counts(root, digest, source)
    return digest


def _novelty_cutoff(reader: _Reader, cutoffs: Mapping) -> int:
    """Read the novelty cutoff, which is null in digests ranked offline since they assess no novelty."""
    if cutoffs.get("novelty", 0) is None:
        return DEFAULT_NOVELTY_CUTOFF
    return reader.integer(cutoffs, "novelty", "cutoffs.novelty")


def _prefilter_from_dict(reader: _Reader, value: Any) -> PrefilterReport | None:
    """Read the prefilter record; digests written before the prefilter existed have none."""
    if value is None:
        return None
    data = reader.mapping(value, "prefilter")
    keep = reader.field(data, "keep", "prefilter.keep")
    if isinstance(keep, bool) or not isinstance(keep, (int, float)):
        raise reader.error("prefilter.keep", f"expected a fraction or a count, found {_json_type(keep)}")
    return PrefilterReport(
        method=reader.string(data, "method", "prefilter.method"),
        keep=keep,
        ranked=reader.integer(data, "ranked", "prefilter.ranked"),
        kept=reader.integer(data, "kept", "prefilter.kept"),
        dropped=reader.integer(data, "dropped", "prefilter.dropped"),
        followed=reader.integer(data, "followed", "prefilter.followed") if "followed" in data else 0,
        cached=reader.integer(data, "cached", "prefilter.cached") if "cached" in data else 0,
    )


def _result_from_dict(reader: _Reader, item: Any, where: str) -> PaperResult:
    entry = reader.mapping(item, where)
    paper_id = reader.string(entry, "id", f"{where}.id")
    if not paper_id or paper_id != paper_id.strip() or any(char.isspace() for char in paper_id):
        raise reader.error(f"{where}.id", f"{paper_id!r} is not an arXiv id")

    announce_type = reader.string(entry, "announce_type", f"{where}.announce_type")
    if announce_type not in ANNOUNCE_TYPES:
        raise reader.error(
            f"{where}.announce_type", f"{announce_type!r} is not one of {', '.join(ANNOUNCE_TYPES)}"
        )
    abstract = reader.string(entry, "abstract", f"{where}.abstract") if "abstract" in entry else ""
    paper = Paper(
        id=paper_id,
        version=reader.integer(entry, "version", f"{where}.version"),
        title=reader.string(entry, "title", f"{where}.title"),
        authors=tuple(reader.strings(entry, "authors", f"{where}.authors")),
        abstract=abstract,
        categories=tuple(reader.strings(entry, "categories", f"{where}.categories")),
        announce_type=announce_type,
    )

    fate_text = reader.string(entry, "fate", f"{where}.fate")
    if fate_text not in _FATES:
        raise reader.error(f"{where}.fate", f"{fate_text!r} is not one of {', '.join(_FATES)}")
    fate = _FATES[fate_text]

    return PaperResult(
        paper=paper,
        fate=fate,
        reason=reader.string(entry, "reason", f"{where}.reason"),
        score=_score_from_dict(reader, entry, paper_id, fate, where),
        followed=reader.boolean(entry, "followed", f"{where}.followed"),
        followed_authors=tuple(reader.strings(entry, "followed_authors", f"{where}.followed_authors")),
        relevant=reader.boolean(entry, "relevant", f"{where}.relevant"),
    )


def _score_from_dict(reader: _Reader, entry: Mapping, paper_id: str, fate: Fate, where: str) -> Score | None:
    """Read relevance, novelty and comment: all set for a scored paper, all null otherwise."""
    keys = ("relevance", "novelty", "comment")
    values = {key: reader.field(entry, key, f"{where}.{key}") for key in keys}
    if fate is not Fate.SCORED:
        for key, value in values.items():
            if value is not None:
                raise reader.error(f"{where}.{key}", f"must be null for a paper whose fate is {fate.value!r}")
        return None

    relevance = reader.integer(entry, "relevance", f"{where}.relevance")
    # An offline ranking leaves novelty null (not assessed) and records the paper's rank.
    novelty = None if values["novelty"] is None else reader.integer(entry, "novelty", f"{where}.novelty")
    for key, value in (("relevance", relevance), ("novelty", novelty)):
        if value is not None and not 1 <= value <= 10:
            raise reader.error(f"{where}.{key}", f"{value} is outside the score range 1..10")
    comment = reader.string(entry, "comment", f"{where}.comment")
    rank = None if entry.get("rank") is None else reader.integer(entry, "rank", f"{where}.rank")
    return Score(paper_id=paper_id, relevance=relevance, novelty=novelty, comment=comment, rank=rank)


def _usage_from_dict(reader: _Reader, value: Any) -> Usage:
    usage = reader.mapping(value, "usage")
    return Usage(
        prompt_tokens=reader.integer(usage, "prompt_tokens", "usage.prompt_tokens"),
        cached_prompt_tokens=reader.integer(usage, "cached_prompt_tokens", "usage.cached_prompt_tokens"),
        completion_tokens=reader.integer(usage, "completion_tokens", "usage.completion_tokens"),
        requests=reader.integer(usage, "requests", "usage.requests"),
    )


def _cost_from_dict(reader: _Reader, value: Any) -> Cost | None:
    if value is None:
        return None
    cost = reader.mapping(value, "cost_usd")
    return Cost(
        prompt=reader.number(cost, "prompt", "cost_usd.prompt"),
        completion=reader.number(cost, "completion", "cost_usd.completion"),
    )


def _prompt_from_dict(reader: _Reader, value: Any) -> PromptText | None:
    if value is None:
        return None
    prompt = reader.mapping(value, "prompt")
    return PromptText(
        system=reader.string(prompt, "system", "prompt.system"),
        user_template=reader.string(prompt, "user_template", "prompt.user_template"),
    )


def _check_unique_ids(reader: _Reader, results: tuple[PaperResult, ...]) -> None:
    seen: set[str] = set()
    for index, result in enumerate(results):
        if result.paper.id in seen:
            raise reader.error(f"papers[{index}].id", f"{result.paper.id!r} occurs twice, but a digest lists each paper once")
        seen.add(result.paper.id)


def _warn_on_stale_counts(root: Mapping, digest: Digest, source: str) -> None:
    counts = root.get("counts")
    if not isinstance(counts, Mapping):
        return
    actual = {
        "total": digest.total_papers,
        "scanned": len(digest.scanned),
        "relevant": len(digest.selected),
        "unscored": len(digest.unscored),
        "dropped": sum(1 for result in digest.results if result.fate is Fate.DROPPED),
        "prefiltered": len(digest.prefiltered),
    }
    for key, value in actual.items():
        if key in counts and counts[key] != value:
            logger.warning(
                "%s: counts.%s is %r, but the papers give %d. The file may have been edited by hand",
                source,
                key,
                counts[key],
                value,
            )


class _Reader:
    """Typed access to the parsed JSON. Every error names the source and the key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, problem: str) -> DigestFormatError:
        return DigestFormatError(
            f"{self.source}: invalid value at {key}: {problem}. "
            "Write the file again with `paperdigest run`, or fix that key by hand."
        )

    def field(self, data: Mapping, key: str, path: str | None = None) -> Any:
        if key not in data:
            raise DigestFormatError(
                f"{self.source}: missing key {path or key}. The file was not written by render_json "
                "or was cut short; write it again with `paperdigest run`."
            )
        return data[key]

    def mapping(self, value: Any, path: str) -> Mapping:
        if not isinstance(value, Mapping):
            raise self.error(path, f"expected an object, found {_json_type(value)}")
        return value

    def sequence(self, value: Any, path: str) -> list:
        if not isinstance(value, list):
            raise self.error(path, f"expected an array, found {_json_type(value)}")
        return value

    def string(self, data: Mapping, key: str, path: str | None = None) -> str:
        value = self.field(data, key, path)
        if not isinstance(value, str):
            raise self.error(path or key, f"expected a string, found {_json_type(value)}")
        return strip_unsafe(value)

    def strings(self, data: Mapping, key: str, path: str | None = None) -> list[str]:
        path = path or key
        values = self.sequence(self.field(data, key, path), path)
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise self.error(f"{path}[{index}]", f"expected a string, found {_json_type(value)}")
        return [strip_unsafe(value) for value in values]

    def integer(self, data: Mapping, key: str, path: str | None = None) -> int:
        value = self.field(data, key, path)
        # bool is a subclass of int in Python, but true/false is no count.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(path or key, f"expected an integer, found {_json_type(value)}")
        return value

    def number(self, data: Mapping, key: str, path: str | None = None) -> float:
        value = self.field(data, key, path)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(path or key, f"expected a number, found {_json_type(value)}")
        if not math.isfinite(value) or not 0 <= value < 1e9:
            raise self.error(path or key, f"expected a finite amount from 0 to 1e9, found {value!r}")
        return float(value)

    def boolean(self, data: Mapping, key: str, path: str | None = None) -> bool:
        value = self.field(data, key, path)
        if not isinstance(value, bool):
            raise self.error(path or key, f"expected true or false, found {_json_type(value)}")
        return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
