"""Parse the model's answer text into validated scores, one per paper id.

The prompt asks for JSONL, one object per paper:
``{"ARXIVID": "2509.09001", "COMMENT": "...", "RELEVANCE": 8, "NOVELTY": 7}``.
Models drift from that shape, so the parser scans the text for JSON objects wherever
they sit (code fences, a JSON array, an object wrapping a list, prose around them,
pretty-printed objects) and validates each one on its own. A bad object costs only
its own paper, and nothing here raises on malformed input.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from paperdigest.models import Score
from paperdigest.textclean import strip_unsafe

logger = logging.getLogger(__name__)

MIN_SCORE = 1
MAX_SCORE = 10

# Record keys after lowercasing and removing everything but letters and digits,
# so "ARXIVID", "ArxivId", "arxiv_id" and "arxiv-id" all become "arxivid".
_KEY_ALIASES = {
    "arxivid": "arxiv_id",
    "arxiv": "arxiv_id",
    "id": "arxiv_id",
    "paperid": "arxiv_id",
    "relevance": "relevance",
    "novelty": "novelty",
    "comment": "comment",
}

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_END = re.compile(r"</think>", re.IGNORECASE)
_OBJECT_START = re.compile(r"\{\s*\"")
_URL_PREFIX = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/", re.IGNORECASE)
_ARXIV_PREFIX = re.compile(r"^arxiv:\s*", re.IGNORECASE)
_VERSION_SUFFIX = re.compile(r"v\d+$")
_SCORE_TEXT = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:/\s*10)?$")


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """Scores read from one answer, with everything that did not fit the batch."""

    scores: dict[str, Score]  # paper id (no version) -> score
    unknown_ids: tuple[str, ...]  # ids that are not in the batch, dropped
    missing_ids: tuple[str, ...]  # batch ids without a valid score, in batch order
    errors: tuple[str, ...]  # one message per rejected object, naming its line
    duplicates: tuple[str, ...]  # ids scored more than once, where the first valid score was kept


def normalize_paper_id(raw: str) -> str:
    """Strip an abs/pdf URL, an ``arXiv:`` prefix and a version suffix from an arXiv id.

    ``https://arxiv.org/abs/2509.09001v2`` and ``arXiv:2509.09001`` both become ``2509.09001``.
    Old-style ids such as ``hep-th/9901001`` keep their archive part.
    """
    paper_id = raw.strip()
    paper_id = _URL_PREFIX.sub("", paper_id)
    paper_id = _ARXIV_PREFIX.sub("", paper_id)
    paper_id = paper_id.removesuffix(".pdf").rstrip("/")
    return _VERSION_SUFFIX.sub("", paper_id)


def _coerce_score(value: Any, field_name: str) -> int:
    """Turn 8, 8.0, "8" or "8/10" into the integer 8, rejecting anything outside 1..10."""
    label = field_name.upper()
    if isinstance(value, bool):
        raise PydanticCustomError("score_type", f"{label} {value!r} is not a number")

    if isinstance(value, str):
        match = _SCORE_TEXT.match(value.strip())
        if match is None:
            raise PydanticCustomError("score_type", f"{label} {value!r} is not a number")
        number = float(match.group(1))
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise PydanticCustomError("score_type", f"{label} {value!r} is not a number")

    if not number.is_integer():
        raise PydanticCustomError("score_integer", f"{label} {value!r} is not a whole number")
    if not MIN_SCORE <= number <= MAX_SCORE:
        raise PydanticCustomError(
            "score_range",
            f"{label} {value!r} is out of range: expected an integer from {MIN_SCORE} to {MAX_SCORE}",
        )
    return int(number)


class AnswerRecord(BaseModel):
    """One object of the answer, after its keys were mapped to these field names."""

    arxiv_id: str
    relevance: int
    novelty: int
    comment: str = ""

    @field_validator("arxiv_id", mode="before")
    @classmethod
    def _check_id(cls, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise PydanticCustomError("id_type", f"ARXIVID {value!r} is not an arXiv id string")
        return normalize_paper_id(value)

    @field_validator("relevance", "novelty", mode="before")
    @classmethod
    def _check_score(cls, value: Any, info) -> int:
        return _coerce_score(value, info.field_name)

    @field_validator("comment", mode="before")
    @classmethod
    def _check_comment(cls, value: Any) -> str:
        if value is None:
            return ""
        return str(value).strip()


def _normalize_keys(obj: dict[str, Any]) -> dict[str, Any]:
    """Map each known key spelling to its AnswerRecord field name. Unknown keys are dropped."""
    normalized: dict[str, Any] = {}
    for key, value in obj.items():
        folded = re.sub(r"[^a-z0-9]", "", str(key).lower())
        field_name = _KEY_ALIASES.get(folded)
        if field_name is not None and field_name not in normalized:
            normalized[field_name] = value
    return normalized


def _blank_think_blocks(text: str) -> str:
    """Replace ``<think>...</think>`` reasoning with spaces, keeping offsets and line numbers.

    A lone ``</think>`` (when the template opened the block) blanks everything before it.
    """

    def blank(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    text = _THINK_BLOCK.sub(blank, text)
    ends = list(_THINK_END.finditer(text))
    if ends:
        cut = ends[-1].end()
        text = re.sub(r"[^\n]", " ", text[:cut]) + text[cut:]
    # NOTE: an unclosed <think> (reasoning cut off by the token limit) is left in place,
    # so JSON-like text inside it is still read as records.
    return text


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


@dataclass(frozen=True, slots=True)
class _FoundObject:
    line: int
    value: dict[str, Any]


def _scan_objects(text: str) -> tuple[list[_FoundObject], list[str]]:
    """Find every JSON object in ``text`` that carries a paper id or is a record candidate.

    Each ``{`` is tried with ``raw_decode``. An object that contains no id key but nests other
    objects (``{"papers": [...]}``) is scanned inside, so its items keep their own line numbers.
    A failed decode is reported only when it starts like a JSON object and no object decoded
    successfully inside its span, so a truncated wrapper does not hide its intact items.
    """
    decoder = json.JSONDecoder()
    found: list[_FoundObject] = []
    # (start, end of the failed span, message) for each object that did not decode
    failures: list[tuple[int, int, str]] = []
    position = text.find("{")

    while position != -1:
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            if _OBJECT_START.match(text, position):
                line = _line_of(text, position)
                failures.append((position, exc.pos, f"line {line}: invalid or truncated JSON ({exc.msg})"))
            position = text.find("{", position + 1)
            continue
        except RecursionError:
            line = _line_of(text, position)
            failures.append((position, position + 1, f"line {line}: JSON nested too deeply to parse"))
            position = text.find("{", position + 1)
            continue

        failures = [f for f in failures if not f[0] < position < f[1]]
        has_id = "arxiv_id" in _normalize_keys(value)
        nests_objects = any(isinstance(v, dict | list) for v in value.values())
        if not has_id and nests_objects:
            position = text.find("{", position + 1)
            continue

        found.append(_FoundObject(_line_of(text, position), value))
        position = text.find("{", end)

    return found, [message for _, _, message in failures]


def _format_validation_error(line: int, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        if error["type"] == "missing":
            field_name = str(error["loc"][0]).upper().replace("ARXIV_ID", "ARXIVID")
            problems.append(f"{field_name} is missing")
        else:
            problems.append(error["msg"])
    return f"line {line}: " + "; ".join(problems)


def parse_answer(text: str, batch_ids: Collection[str]) -> ParsedAnswer:
    """Read the scores for ``batch_ids`` from the model's answer ``text``.

    Ids on both sides are compared without version, URL or ``arXiv:`` prefix. Objects whose
    id is not in the batch are dropped and logged. For an id scored twice the first valid
    score is kept. Never raises on malformed text: whatever cannot be used is reported in
    ``errors`` and the affected papers stay in ``missing_ids``.
    """
    expected = [normalize_paper_id(paper_id) for paper_id in batch_ids]
    expected_set = set(expected)

    objects, errors = _scan_objects(_blank_think_blocks(text or ""))
    if not objects and not errors:
        errors.append("no JSON object was found in the answer")

    scores: dict[str, Score] = {}
    unknown: list[str] = []
    duplicates: list[str] = []

    for found in objects:
        try:
            record = AnswerRecord.model_validate(_normalize_keys(found.value))
        except ValidationError as exc:
            errors.append(_format_validation_error(found.line, exc))
            continue

        if record.arxiv_id not in expected_set:
            if record.arxiv_id not in unknown:
                unknown.append(record.arxiv_id)
            continue
        if record.arxiv_id in scores:
            if record.arxiv_id not in duplicates:
                duplicates.append(record.arxiv_id)
            logger.info("Ignored a second score for %s on line %d: the first one is kept", record.arxiv_id, found.line)
            continue

        scores[record.arxiv_id] = Score(
            paper_id=record.arxiv_id,
            relevance=record.relevance,
            novelty=record.novelty,
            comment=strip_unsafe(record.comment),
        )

    if unknown:
        logger.warning("Dropped scores for %d id(s) not in the batch: %s", len(unknown), ", ".join(unknown))
    if errors:
        logger.info("Rejected %d part(s) of the answer: %s", len(errors), " | ".join(errors))

    missing = tuple(paper_id for paper_id in dict.fromkeys(expected) if paper_id not in scores)
    return ParsedAnswer(
        scores=scores,
        unknown_ids=tuple(unknown),
        missing_ids=missing,
        errors=tuple(errors),
        duplicates=tuple(duplicates),
    )
