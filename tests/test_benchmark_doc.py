"""docs/benchmarks.md states the agreement figures that `paperdigest eval` computes on the bundled day."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperdigest.cli import main

ROOT = Path(__file__).parent.parent
SELECTION = ROOT / "tests" / "fixtures" / "selection"
TOPICS = {
    "Reference topics": SELECTION / "topics-reference.md",
    "Paraphrase": ROOT / "prompts" / "topics.md",
}


def documented_rows(heading: str) -> list[list[str]]:
    """Rows of the agreement table under the heading that starts with `heading`, seconds left out."""
    text = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    start = text.index(f"#### {heading}")
    table = re.search(r"\| ranker \|.*?\n\n", text[start:], re.DOTALL)
    assert table is not None
    return [_cells(line)[:-1] for line in table.group(0).strip().splitlines()[2:]]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


@pytest.mark.parametrize("heading", sorted(TOPICS))
def test_eval_reproduces_documented_table(heading):
    pytest.importorskip("wordllama")
    result = CliRunner().invoke(
        main,
        [
            "eval",
            "--listing", str(SELECTION / "2025-09-12.listing.jsonl"),
            "--picks", str(SELECTION / "2025-09-12.picks.json"),
            "--topics", str(TOPICS[heading]),
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    printed = [_cells(line)[:-1] for line in result.output.splitlines() if line.startswith("| ") and "ranker" not in line]
    assert printed == documented_rows(heading)
