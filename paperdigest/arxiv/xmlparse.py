"""XML parsing shared by the RSS and API parsers, with errors that say what arrived instead."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from paperdigest.errors import FeedFormatError


def parse_xml(data: bytes, source: str, kind: str) -> ET.Element:
    """Parse raw bytes; `kind` names what was expected ("an RSS feed") in the error message.

    The bytes are parsed, never a decoded str, because the XML declaration names the encoding
    and a client that guesses latin-1 turns "ω" into "Ï\\x89".
    """
    try:
        return ET.fromstring(data)
    except ET.ParseError as error:
        if looks_like_html(data):
            raise FeedFormatError(html_page_message(source, kind)) from error
        start = data[:60].decode("utf-8", errors="replace")
        raise FeedFormatError(
            f"{source} is not valid XML ({error}); it starts with {start!r}. "
            "The download may be cut off or the server sent an error page; try again."
        ) from error


def looks_like_html(data: bytes) -> bool:
    head = data.lstrip()[:200].lower()
    return head.startswith((b"<!doctype html", b"<html"))


def html_page_message(source: str, kind: str) -> str:
    return (
        f"{source} looks like an HTML page, not {kind}. arXiv may be showing an error or "
        "maintenance page; try again later or check the URL."
    )
