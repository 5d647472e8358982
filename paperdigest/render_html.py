"""Render a Digest as one self-contained HTML page (jinja2 template, autoescape on).

The page shows the same facts as the Markdown digest. It has inline CSS only: no script,
no external stylesheet, font or image. Its Content-Security-Policy blocks everything but
inline styles, so even a script that got into the page could not run. Every text from
arXiv or the model is escaped by jinja2's autoescape, and "$...$" math stays as plain text.
"""

from __future__ import annotations

import functools
import logging
import urllib.parse

import jinja2

from paperdigest.models import Digest, PaperResult
from paperdigest.render import digest_context

logger = logging.getLogger(__name__)

TEMPLATE_NAME = "digest.html.j2"
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
ARXIV_ABS_BASE = "https://arxiv.org/abs/"

# Score badge colours: "high" from this value up, "mid" from MID_SCORE up, "low" below.
HIGH_SCORE = 8
MID_SCORE = 5


def arxiv_url(paper_id: str) -> str:
    """Build the arXiv abstract page URL from a paper id, percent-encoding all but "/" in it.

    Old-style ids such as "hep-th/9901001" keep their slash, and a quote, space or "<" in a
    malformed id cannot end the attribute or the URL early.
    """
    return ARXIV_ABS_BASE + urllib.parse.quote(str(paper_id), safe="/")


def score_level(value: int) -> str:
    """Name the badge colour of a 1..10 score: "high", "mid" or "low"."""
    if value >= HIGH_SCORE:
        return "high"
    if value >= MID_SCORE:
        return "mid"
    return "low"


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("paperdigest", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["score_level"] = score_level
    environment.filters["thousands"] = "{:,}".format
    return environment


def render_html(digest: Digest) -> str:
    """Render the digest as a standalone HTML page. An empty day still gives a full page."""
    template = _environment().get_template(TEMPLATE_NAME)
    return template.render(**_html_context(digest))


def _html_context(digest: Digest) -> dict:
    # The Markdown context already contains the model label, usage and cost cells (zeroed for
    # the keyword scorer), counts and the dropped-by-rule summary, so both digests agree.
    context = digest_context(digest)
    for view in context["papers"]:
        view["url"] = arxiv_url(view["paper"].id)
    context["unscored"] = [_unscored_view(result) for result in digest.unscored]
    context["content_security_policy"] = CONTENT_SECURITY_POLICY
    return context


def _unscored_view(result: PaperResult) -> dict:
    return {"paper": result.paper, "result": result, "url": arxiv_url(result.paper.id)}
