"""Removal of invisible control characters from text that came from outside (feeds, answers)."""

from __future__ import annotations

import re

# C0 and C1 controls except tab and newline, and the Unicode bidirectional embeddings,
# overrides and isolates: a name with U+202E would reverse the rest of its line when shown.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def strip_unsafe(text: str) -> str:
    """Return `text` without control, bidirectional-override and lone surrogate characters."""
    return _UNSAFE.sub("", text)
