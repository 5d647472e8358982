"""Read the reader's topics (prompts/topics.md) into terms and sections the offline rankers use.

These layouts are understood, and mixes of them:

- numbered sections ("1. Model architecture", also as a heading) with lines labelled "Relevant:"
  and "Not relevant:" (or "Irrelevant:"); a label naming areas ("Avoid:", "Areas the reader does
  not follow:") belongs to a section only when it is indented under it;
- a section per Markdown heading, with one phrase per bullet;
- labelled lists, on one line or as a label followed by bullets: keywords ("Keywords that signal
  a match: ...", "- Relevant: ..."), areas the reader does not follow ("Irrelevant:", "Not
  interested:", "Areas the reader does not follow:"), and application areas that score low
  ("Application: ...");
- a plain bulleted list, read as keywords.

Parsing is pure: it takes the text and returns a TopicProfile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from paperdigest.textmatch import Term, make_term

_QUOTE = re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_NUMBERED = re.compile(r"^\s*(\d{1,2})[.)]\s+(.+)$")
_BULLET = re.compile(r"^\s*[-*+]\s+")
_MARKUP = re.compile(r"\*\*|__|`")
# An item with at least two capitals and no spaces, as abbreviations are written: MoE, GNNs, 3DGS.
_ABBREVIATION_ITEM = re.compile(r"(?=(?:[^A-Z]*[A-Z]){2})[A-Za-z0-9][A-Za-z0-9-]{1,14}")
_EXAMPLE_PREFIX = re.compile(r"^(?:e\.\s?g\.?|i\.\s?e\.?|such as|including|like)\s*,?\s*", re.IGNORECASE)
_PARENTHESES = re.compile(r"\([^()]*\)")
# A comma list is split at these; "and"/"or" are handled like a slash, see _expand_alternatives.
_LIST_SEPARATOR = re.compile(r"[,;:]|\.(?=\s|$)|\betc\b\.?", re.IGNORECASE)
_CONJUNCTION = re.compile(r"\s+(?:and|or)\s+", re.IGNORECASE)
# Labels of areas the reader does not follow: these phrases anywhere ("Not interested:"), or one
# of these words alone ("Avoid:"), but not a topic such as "Skip connections".
_NEGATIVE_PHRASE = re.compile(
    r"\b(?:irrelevant|not relevant|not interest\w*|uninterest\w*|(?:do not|don't|does not) follow|"
    r"not followed|exclude[ds]?|out of scope)\b"
)
_NEGATIVE_WORDS = ("avoid", "ignore", "skip", "not", "no", "exclude")
# Labels that describe one section rather than the reader's areas as a whole.
_SECTION_LABELS = frozenset({"relevant", "not relevant", "irrelevant"})
# A heading that titles the whole file rather than one topic: "Topics of interest", "Relevant Topics".
_DOCUMENT_TITLE = re.compile(r"^(?:my |relevant |research |reading )?(?:topics|interests)\b", re.IGNORECASE)
# Words that make a stated preference for foundational work over applications.
_FOUNDATIONAL = re.compile(r"\bfoundational\b|\btheoretical\b|\bfundamental research\b", re.IGNORECASE)
_APPLICATION_WORDS = re.compile(r"\bappl(?:y|ies|ied|ication|ications)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TopicSection:
    """One numbered topic: its heading, the text the embedding ranker compares papers with, its terms."""

    title: str
    text: str
    terms: tuple[Term, ...]
    not_relevant: str = ""


@dataclass(frozen=True)
class TopicProfile:
    """The reader's interests from topics.md, in matchable form."""

    sections: tuple[TopicSection, ...] = ()
    keywords: tuple[Term, ...] = ()  # terms listed outside sections as signals of a match
    negative: tuple[Term, ...] = ()  # areas the reader does not follow
    application: tuple[Term, ...] = ()  # application areas that score low unless the method is new
    preamble: str = ""  # the first paragraph of plain text
    prefers_foundational: bool = False  # the text prefers methods or theory to applications

    @property
    def positive(self) -> tuple[Term, ...]:
        """Every positive term once: keywords first, then section terms."""
        seen: dict[tuple[str, ...], Term] = {}
        for term in (*self.keywords, *(t for s in self.sections for t in s.terms)):
            seen.setdefault(term.key, term)
        return tuple(seen.values())

    @property
    def empty(self) -> bool:
        return not (self.sections or self.keywords)


def parse_topics(text: str) -> TopicProfile:
    """Parse topics text; see the module docstring for the layouts understood.

    Block-quote markers are removed first. When a heading names topics ("## Relevant Topics"),
    only the text from that heading to the next heading of its level is read, so a whole digest
    with its prompt appendix can be given.
    """
    text = _topics_part(_QUOTE.sub("", text))
    parser = _Parser()
    for line in text.splitlines():
        parser.feed(line)
    built = tuple(
        TopicSection(
            title=s["title"],
            text=". ".join([s["title"], *s["relevant"]]),
            terms=tuple(_unique(s["terms"])),
            not_relevant=" ".join(s["not"]),
        )
        for s in parser.sections
    )
    return TopicProfile(
        sections=built,
        keywords=tuple(_unique(parser.lists["keywords"])),
        negative=tuple(_unique(parser.lists["negative"])),
        application=tuple(_unique(parser.lists["application"])),
        preamble=parser.preamble,
        prefers_foundational=bool(_FOUNDATIONAL.search(text) and _APPLICATION_WORDS.search(text)),
    )


class _Parser:
    """Line-by-line state of parse_topics: the open section, or the list that bare bullets join."""

    def __init__(self) -> None:
        self.sections: list[dict] = []
        self.lists: dict[str, list[Term]] = {"keywords": [], "negative": [], "application": []}
        self.preamble = ""
        self.current: dict | None = None  # the open section
        self.indented_only = False  # the open section is numbered: long labels under it must be indented
        self.mode = "keywords"  # the list that bare bullets outside a section join
        self.section_mode = "terms"  # where bare bullets inside the open section go: "terms" or "not"
        self.list_label = False  # a label on its own line ("Keywords:") opened a list of items

    def feed(self, line: str) -> None:
        stripped = _MARKUP.sub("", line).strip()
        if not stripped:
            return
        heading = _HEADING.match(stripped)
        if heading:
            self.list_label = False
            self._heading(len(heading.group(1)), heading.group(2).strip())
            return
        numbered = _NUMBERED.match(stripped)
        if numbered and self.list_label and self.current is None:
            # "Areas I do not follow:" followed by "1. robotics": numbered items of that list.
            self.lists[self.mode].extend(split_terms(numbered.group(2)))
            return
        if numbered:
            self._open(numbered.group(2).strip(), indented_only=True)
            return

        is_bullet = bool(_BULLET.match(stripped))
        body_line = _BULLET.sub("", stripped)
        label, colon, body = body_line.partition(":")
        if not colon or len(label) > 80:
            self._plain(body_line, is_bullet, stripped)
            return

        kind = _label_kind(label)
        # "Relevant:", "Not relevant:" and "Irrelevant:" belong to the open section, and so do other
        # short labels ("Examples:"). A label naming areas the reader does not follow ("Avoid:",
        # "Areas the reader does not follow:") starts the global list unless it is indented.
        label_text = " ".join(label.lower().split())
        indented = line[:1].isspace()
        short = len(label.split()) <= 2
        inside = self.current is not None and (
            label_text in _SECTION_LABELS
            or (indented and kind in ("relevant", "negative"))
            or (kind == "other" and (short or indented or not self.indented_only))
        )
        if inside and kind in ("relevant", "negative", "other"):
            # Other labels in a section ("Examples: YOLO, DETR") add to its topic.
            self.section_mode = "not" if kind == "negative" else "terms"
            if body.strip():
                self._section_line(body.strip())
            return

        self.current = None
        if kind == "relevant":
            kind = "keywords"
        if kind in self.lists:
            # A label on its own line ("Keywords:") names the list that the next bullets join.
            self.mode = kind
            self.list_label = not body.strip()
            self.lists[kind].extend(split_terms(body))

    def _heading(self, level: int, title: str) -> None:
        numbered = _NUMBERED.match(title)
        if numbered:
            self._open(numbered.group(2).strip(), indented_only=False)
            return
        kind = _label_kind(title)
        if kind in self.lists:
            self.current, self.mode = None, kind
        elif level == 1 or (_DOCUMENT_TITLE.match(title) and not self.sections):
            self.current, self.mode = None, "keywords"  # the document's own title
        else:
            self._open(title, indented_only=False)

    def _open(self, title: str, indented_only: bool) -> None:
        self.current = {"title": title, "relevant": [], "terms": [], "not": []}
        self.sections.append(self.current)
        self.indented_only = indented_only
        self.section_mode = "terms"

    def _section_line(self, text: str, is_list: bool = True) -> None:
        assert self.current is not None
        if self.section_mode == "not":
            self.current["not"].append(text)
            return
        self.current["relevant"].append(text)
        if is_list:
            self.current["terms"].extend(split_terms(text))

    def _plain(self, text: str, is_bullet: bool, line: str) -> None:
        """Read a line without a label: a bullet adds its phrases, and prose describes the open section."""
        if self.current is not None:
            self._section_line(text.strip(), is_list=is_bullet)
        elif is_bullet:
            self.lists[self.mode].extend(split_terms(text))
        elif not self.preamble and not self.sections:
            self.preamble = line


def _topics_part(text: str) -> str:
    """Cut a whole digest down to the topics in its prompt appendix; return other text unchanged."""
    lines = text.splitlines()
    headings = [(i, m) for i, m in ((i, _HEADING.match(line.strip())) for i, line in enumerate(lines)) if m]
    appendix = next((i for i, m in headings if "selection prompt" in m.group(2).lower()), None)
    if appendix is None:
        return text
    for index, match in headings:
        if index > appendix and _DOCUMENT_TITLE.match(_MARKUP.sub("", match.group(2)).strip()):
            level = len(match.group(1))
            end = next((i for i, m in headings if i > index and len(m.group(1)) <= level), len(lines))
            return "\n".join(lines[index:end])
    return "\n".join(lines[appendix:])


def _label_kind(label: str) -> str:
    """Classify a label or heading: application, negative, keywords, relevant or other."""
    words = label.lower().replace("\u2019", "'").split()
    if not words:
        return "other"
    text = " ".join(words)
    if "score low" in text or "application area" in text or (words[0].startswith("application") and len(words) <= 2):
        return "application"
    if _NEGATIVE_PHRASE.search(text) or (len(words) == 1 and words[0] in _NEGATIVE_WORDS):
        return "negative"
    if "keyword" in text:
        return "keywords"
    if "relevant" in text:
        return "relevant"
    return "other"


def split_terms(body: str) -> list[Term]:
    """Split a comma list of phrases into terms.

    "Sparse/Sparsity" gives two terms; "feature/dictionary learning" gives "feature learning" and
    "dictionary learning"; an abbreviation in parentheses, "(MoE)", is a case-sensitive term of its own.
    A list in parentheses, "(e.g. pruning, quantization)", adds its items as terms.
    Phrases longer than MAX_TERM_WORDS words are descriptions, not terms, and are skipped.
    """
    terms: list[Term] = []
    inner: list[str] = []
    for group in _PARENTHESES.findall(body):
        content = _EXAMPLE_PREFIX.sub("", group[1:-1].strip())
        inner.extend(item.strip() for item in _LIST_SEPARATOR.split(content) if item.strip())
    body = _PARENTHESES.sub(" ", body)
    for part in _LIST_SEPARATOR.split(body):
        part = part.strip()
        if not part:
            continue
        for phrase in _expand_alternatives(part):
            term = make_term(phrase)
            if term is not None:
                terms.append(term)
    for item in inner:
        # An item written like an abbreviation (MoE, LoRA-FA, 3DGS) matches as written.
        if _ABBREVIATION_ITEM.fullmatch(item):
            term = make_term(item, exact_case=True)
        else:
            term = make_term(item)
        if term is not None:
            terms.append(term)
    return terms


def _expand_alternatives(part: str) -> list[str]:
    """Spell out alternatives written with a slash, "and" or "or".

    "Conditional/Dynamic Networks" gives "Conditional Networks" and "Dynamic Networks". A slash
    joins parts of one phrase, so the bare word is dropped. "And" or "or" may also join two
    separate items ("Transformers and attention variants"), so a capitalised bare word is kept as
    well. A lower-case one ("feature and dictionary learning") is too vague on its own.
    """
    phrases: list[str] = []
    for chunk in _CONJUNCTION.split(part):
        if "/" in chunk:
            phrases.extend(_share_words([p for p in chunk.split("/")], keep_bare=False))
        else:
            phrases.append(chunk)
    if len(phrases) > 1 and _CONJUNCTION.search(part):
        return _share_words(phrases, keep_bare=True)
    return phrases


def _share_words(pieces: list[str], keep_bare: bool) -> list[str]:
    """Give one-word pieces the words that precede the first piece and follow the last one."""
    pieces = [p.strip() for p in pieces if p.strip()]
    if len(pieces) < 2:
        return pieces
    head = pieces[0].split()[:-1]
    tail = pieces[-1].split()[1:]
    shared: list[str] = []
    for index, piece in enumerate(pieces):
        words = piece.split()
        if len(words) == 1 and (head or tail):
            before = head if index > 0 else []
            after = tail if index < len(pieces) - 1 else []
            if keep_bare and piece[:1].isupper():
                shared.append(piece)
            words = [*before, *words, *after]
        shared.append(" ".join(words))
    return shared


def _unique(terms: list[Term]) -> list[Term]:
    """Drop repeated terms, keeping the first of each."""
    seen: dict[tuple[str, ...], Term] = {}
    for term in terms:
        seen.setdefault(term.key, term)
    return list(seen.values())
