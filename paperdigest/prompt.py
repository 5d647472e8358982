"""Prompt files and the chat messages built from them.

The instruction part (system.md, topics.md, criteria.md) forms the system message, which is
byte-identical in every request, and the papers come last, so providers can cache the prefix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from paperdigest.errors import ConfigError
from paperdigest.models import Paper, PromptText

PROMPT_FILES = ("system.md", "topics.md", "criteria.md")
PAPERS_PLACEHOLDER = "[the papers of the batch, each as <paper> with ArXiv ID, Title, Authors and Abstract lines </paper>]"


@dataclass(frozen=True)
class PromptSet:
    """The three prompt files' text and where they were read from."""

    system: str
    topics: str
    criteria: str
    origin: str  # folder path, or "packaged defaults"

    @property
    def instructions(self) -> str:
        """The system message: identical for every batch of a run."""
        return f"{self.system.strip()}\n\n{self.topics.strip()}\n\n{self.criteria.strip()}\n"

    @property
    def digest(self) -> str:
        """Hash of the instructions, for cache keys."""
        return hashlib.sha256(self.instructions.encode("utf-8")).hexdigest()

    def as_prompt_text(self) -> PromptText:
        user = f"Score these N papers: answer with N JSON lines, one per paper.\n\n{PAPERS_PLACEHOLDER}"
        return PromptText(system=self.instructions, user_template=user)


def load_prompts(folder: Path | None) -> PromptSet:
    """Read prompts/ beside the config; without that folder, the packaged defaults."""
    if folder is None or not folder.exists():
        package = resources.files("paperdigest") / "prompts"
        texts = [(package / name).read_text(encoding="utf-8") for name in PROMPT_FILES]
        return PromptSet(*texts, origin="packaged defaults")
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder; prompts/ must hold {', '.join(PROMPT_FILES)}")
    texts = []
    for name in PROMPT_FILES:
        path = folder / name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"prompt file {path} not found; create it, or remove the folder {folder} "
                "to use the packaged default prompts"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read prompt file {path}: {exc}") from None
        if not text.strip():
            raise ConfigError(f"prompt file {path} is empty; write its instructions or delete the file's folder")
        texts.append(text)
    return PromptSet(*texts, origin=str(folder))


def _clean(text: str) -> str:
    """Collapse whitespace and defuse anything that could close or open a <paper> element."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"</?\s*paper\b", lambda m: m.group(0).replace("<", "‹"), text, flags=re.IGNORECASE)


def format_paper(paper: Paper) -> str:
    return (
        "<paper>\n"
        f"ArXiv ID: {paper.id}\n"
        f"Title: {_clean(paper.title)}\n"
        f"Authors: {_clean(', '.join(paper.authors))}\n"
        f"Abstract: {_clean(paper.abstract)}\n"
        "</paper>"
    )


def format_batch(papers: Sequence[Paper]) -> str:
    body = "\n\n".join(format_paper(p) for p in papers)
    return f"Score these {len(papers)} papers: answer with {len(papers)} JSON lines, one per paper.\n\n{body}\n"


def build_messages(prompts: PromptSet, papers: Sequence[Paper]) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": prompts.instructions},
        {"role": "user", "content": format_batch(papers)},
    ]
