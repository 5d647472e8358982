"""Tests for reading a digest back from the JSON that render_json writes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging

import pytest

from paperdigest.digest_io import DigestFormatError, digest_from_dict, load_digest_json
from paperdigest.errors import PaperdigestError
from paperdigest.models import Cost, Digest, Fate, Paper, PaperResult, PromptText, Score, Usage
from paperdigest.render import digest_to_dict, render_json


def make_paper(paper_id: str, title: str = "A title", **changes) -> Paper:
    fields = {
        "id": paper_id,
        "version": 2,
        "title": title,
        "authors": ("Ada Lovelace", "Gökhan Çelik"),
        "abstract": "We study things.",
        "categories": ("cs.LG", "stat.ML"),
        "announce_type": "new",
    }
    fields.update(changes)
    return Paper(**fields)


def make_results() -> tuple[PaperResult, ...]:
    hostile = make_paper("2509.00003", "<script>alert(1)</script> | $x$ `y` \"quoted\"")
    followed = make_paper("hep-th/9901001", "Old-style id", announce_type="replace-cross")
    return (
        PaperResult(make_paper("2509.00001"), Fate.DROPPED, "excluded keyword: survey"),
        PaperResult(hostile, Fate.SCORED, "", Score(hostile.id, 9, 8, "Fits: $k$-hop ✓"), relevant=True),
        PaperResult(make_paper("2509.00002"), Fate.SCORED, "", Score("2509.00002", 3, 4, "Off topic.")),
        PaperResult(followed, Fate.UNSCORED, "invalid line", None, True, ("Ada Lovelace",), True),
        PaperResult(make_paper("2509.00004"), Fate.UNSCORED, "missing from the answer"),
        PaperResult(make_paper("2509.00005"), Fate.SCORED, "", Score("2509.00005", 10, 10, "Exact."), relevant=True),
    )


def make_digest(**changes) -> Digest:
    fields = {
        "date": dt.date(2025, 9, 12),
        "model": "gpt-5",
        "scorer": "openai",
        "categories": ("cs.LG", "cs.AI"),
        "results": make_results(),
        "usage": Usage(prompt_tokens=26364, cached_prompt_tokens=1024, completion_tokens=29620, requests=2),
        "cost": Cost(prompt=0.032955, completion=0.2962),
        "prompt": PromptText(system="Be strict.\n\nScore papers.", user_template="Papers:\n[PAPERS]"),
        "source": "https://rss.arxiv.org/rss/cs.LG+cs.AI",
        "relevance_cutoff": 7,
        "novelty_cutoff": 6,
        "notice": "",
        "warnings": ("2 candidate papers have no score; see the unscored list",),
    }
    fields.update(changes)
    return Digest(**fields)


def json_data(digest: Digest | None = None) -> dict:
    return json.loads(render_json(digest or make_digest()))


def load_changed(change) -> Digest:
    """Load the default digest's JSON after `change` edited the parsed dict in place."""
    data = json_data()
    change(data)
    return load_digest_json(json.dumps(data), "out/2025-09-12.json")


# --- round trip ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "digest",
    [
        make_digest(),
        make_digest(cost=None, prompt=None),
        make_digest(results=(), notice="No announcement on 2025-09-13 (Saturday).", warnings=()),
        make_digest(scorer="keywords", model="keywords (offline)", usage=Usage(), cost=Cost(0.0, 0.0)),
        make_digest(cost=Cost(prompt=0.1 + 0.2, completion=1 / 3)),
    ],
    ids=["full", "no-price-no-prompt", "empty-day", "keywords", "float-noise"],
)
def test_roundtrip_render_json(digest):
    text = render_json(digest)
    assert render_json(load_digest_json(text)) == text


def test_roundtrip_twice_is_stable():
    once = render_json(load_digest_json(render_json(make_digest())))
    assert render_json(load_digest_json(once)) == once


def test_load_restores_records():
    original = make_digest()
    loaded = load_digest_json(render_json(original))
    expected = {r.paper.id: r for r in original.results}
    assert {r.paper.id: r for r in loaded.results} == expected


def test_load_restores_header_fields():
    original = make_digest()
    loaded = load_digest_json(render_json(original))
    assert dataclasses.replace(loaded, results=original.results) == original


def test_load_selected_order_kept():
    original = make_digest()
    loaded = load_digest_json(render_json(original))
    assert [r.paper.id for r in loaded.selected] == [r.paper.id for r in original.selected]


def test_load_abstract_missing_is_empty():
    def drop_abstracts(data):
        for paper in data["papers"]:
            del paper["abstract"]

    assert {r.paper.abstract for r in load_changed(drop_abstracts).results} == {""}


def test_load_abstract_read_when_present():
    def add_abstract(data):
        data["papers"][0]["abstract"] = "Kept."

    assert load_changed(add_abstract).results[0].paper.abstract == "Kept."


def test_load_score_paper_id_from_id():
    loaded = load_digest_json(render_json(make_digest()))
    scored = [r for r in loaded.results if r.score is not None]
    assert all(r.score.paper_id == r.paper.id for r in scored)


def test_digest_from_dict_matches_load():
    digest = make_digest()
    assert digest_from_dict(digest_to_dict(digest)) == load_digest_json(render_json(digest))


def test_load_stale_counts_warns(caplog):
    def edit_counts(data):
        data["counts"]["relevant"] = 99

    with caplog.at_level(logging.WARNING, logger="paperdigest.digest_io"):
        load_changed(edit_counts)
    assert "counts.relevant is 99, but the papers give 3. " in caplog.text


def test_load_matching_counts_silent(caplog):
    with caplog.at_level(logging.WARNING, logger="paperdigest.digest_io"):
        load_digest_json(render_json(make_digest()))
    assert caplog.text == ""


# --- errors -------------------------------------------------------------------------------


def test_error_is_paperdigest_error():
    assert issubclass(DigestFormatError, PaperdigestError)


def test_error_invalid_json():
    with pytest.raises(DigestFormatError, match=r"out/x\.json is not valid JSON: .* line 1, column 2"):
        load_digest_json("{oops", "out/x.json")


def test_error_top_level_not_object():
    with pytest.raises(DigestFormatError, match="the top level: expected an object, found an array"):
        load_digest_json("[]")


def test_error_missing_key_named():
    def drop_model(data):
        del data["model"]

    with pytest.raises(DigestFormatError, match=r"out/2025-09-12\.json: missing key model\."):
        load_changed(drop_model)


def test_error_missing_nested_key_named():
    def drop_title(data):
        del data["papers"][2]["title"]

    with pytest.raises(DigestFormatError, match=r"missing key papers\[2\]\.title"):
        load_changed(drop_title)


def test_error_bad_date():
    def set_date(data):
        data["date"] = "12.09.2025"

    with pytest.raises(DigestFormatError, match="at date: '12.09.2025' is not a date in YYYY-MM-DD form"):
        load_changed(set_date)


def test_error_wrong_type_named():
    def set_version(data):
        data["papers"][0]["version"] = "2"

    with pytest.raises(DigestFormatError, match=r"papers\[0\]\.version: expected an integer, found the string '2'"):
        load_changed(set_version)


def test_error_bool_not_integer():
    def set_requests(data):
        data["usage"]["requests"] = True

    with pytest.raises(DigestFormatError, match=r"usage\.requests: expected an integer, found a boolean"):
        load_changed(set_requests)


def test_error_author_not_string():
    def set_author(data):
        data["papers"][0]["authors"][1] = 7

    with pytest.raises(DigestFormatError, match=r"papers\[0\]\.authors\[1\]: expected a string"):
        load_changed(set_author)


def test_error_unknown_fate():
    def set_fate(data):
        data["papers"][0]["fate"] = "lost"

    with pytest.raises(DigestFormatError, match=r"'lost' is not one of dropped, prefiltered, scored, unscored"):
        load_changed(set_fate)


def test_error_unknown_announce_type():
    def set_type(data):
        data["papers"][0]["announce_type"] = "old"

    with pytest.raises(DigestFormatError, match=r"papers\[0\]\.announce_type: 'old' is not one of"):
        load_changed(set_type)


def test_error_scored_without_score():
    def clear_score(data):
        data["papers"][1]["relevance"] = None

    with pytest.raises(DigestFormatError, match=r"papers\[1\]\.relevance: expected an integer, found null"):
        load_changed(clear_score)


def test_error_score_out_of_range():
    def set_score(data):
        data["papers"][1]["novelty"] = 11

    with pytest.raises(DigestFormatError, match=r"papers\[1\]\.novelty: 11 is outside the score range 1\.\.10"):
        load_changed(set_score)


def test_error_dropped_with_score():
    def add_score(data):
        dropped = next(paper for paper in data["papers"] if paper["fate"] == "dropped")
        dropped["comment"] = "stray"

    with pytest.raises(DigestFormatError, match=r"comment: must be null for a paper whose fate is 'dropped'"):
        load_changed(add_score)


def test_error_duplicate_id():
    def duplicate(data):
        data["papers"].append(dict(data["papers"][1]))

    with pytest.raises(DigestFormatError, match=r"papers\[6\]\.id: '2509\.00005' occurs twice"):
        load_changed(duplicate)


def test_error_id_with_space():
    def set_id(data):
        data["papers"][0]["id"] = "2509 00005"

    with pytest.raises(DigestFormatError, match=r"papers\[0\]\.id: '2509 00005' is not an arXiv id"):
        load_changed(set_id)


def test_error_message_names_fix():
    def set_model(data):
        data["model"] = None

    with pytest.raises(DigestFormatError, match="Write the file again with `paperdigest run`"):
        load_changed(set_model)
