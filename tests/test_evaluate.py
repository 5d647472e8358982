"""Listings, picks and the figures of `paperdigest eval`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperdigest.errors import ConfigError
from paperdigest.evaluate import Evaluation, evaluate, format_table, load_listing_file, load_picks, select_categories
from paperdigest.models import Paper
from paperdigest.ranking import Ranked, Ranker
from paperdigest.topics import parse_topics

SELECTION = Path(__file__).parent / "fixtures" / "selection"
LISTING = SELECTION / "2025-09-12.listing.jsonl"
PICKS = SELECTION / "2025-09-12.picks.json"
REFERENCE_TOPICS = SELECTION / "topics-reference.md"
RSS_FEED = Path(__file__).parent / "fixtures" / "rss" / "2025-09-12" / "cs.LG+cs.AI+cs.CL.xml"


@pytest.fixture(scope="module")
def listing() -> list[Paper]:
    return load_listing_file(LISTING)


@pytest.fixture(scope="module")
def picks() -> set[str]:
    return load_picks(PICKS)


def write_lines(path: Path, entries) -> Path:
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
    return path


def test_listing_fixture_unique_papers(listing):
    assert len(LISTING.read_text(encoding="utf-8").splitlines()) == 251
    assert len(listing) == 188
    assert len({paper.id for paper in listing}) == 188


def test_listing_fixture_first_paper(listing):
    first = listing[0]

    assert first.id == "2509.08834"
    assert first.version == 1
    assert first.authors == ("John T. Rickard", "William A. Dembski", "James Rickards")
    assert first.categories[0] == "cs.AI"
    assert first.announce_type == "new"
    assert "\n" not in first.abstract
    assert first.abstract.startswith("Bayesian inference is widely used in many different fields to test hypotheses")


def test_listing_rss_feed_same_papers(listing):
    feed = load_listing_file(RSS_FEED)

    assert {paper.id for paper in feed} == {paper.id for paper in listing}


def test_listing_entry_fields(tmp_path):
    path = write_lines(
        tmp_path / "day.jsonl",
        [
            {
                "id": "http://arxiv.org/abs/2509.00001v3",
                "title": "A  wrapped\n title",
                "authors": "Ada Lovelace, Alan Turing",
                "abstract": "First line\nsecond line.",
            },
            {"id": "2509.00001v4", "title": "A repeat", "summary": "Kept out."},
        ],
    )

    (paper,) = load_listing_file(path)

    assert paper.id == "2509.00001"
    assert paper.version == 3
    assert paper.title == "A wrapped title"
    assert paper.authors == ("Ada Lovelace", "Alan Turing")
    assert paper.abstract == "First line second line."
    assert paper.categories == ()


def test_listing_skips_blank_lines(tmp_path):
    path = tmp_path / "day.jsonl"
    path.write_text('\n{"id": "2509.00001", "title": "T", "summary": "S"}\n\n', encoding="utf-8")

    assert [paper.id for paper in load_listing_file(path)] == ["2509.00001"]


def test_picks_fixture_ids(picks):
    assert len(picks) == 18
    assert "2509.09001" in picks
    assert "2509.09679" in picks


def test_picks_fixture_all_in_listing(picks, listing):
    assert picks <= {paper.id for paper in listing}


def test_picks_digest_json(tmp_path):
    path = tmp_path / "digest.json"
    digest = {
        "date": "2025-09-12",
        "papers": [
            {"id": "2509.00001", "relevant": True},
            {"id": "2509.00002", "relevant": False},
            {"id": "2509.00003", "relevant": True},
            {"relevant": True},
            "not a paper",
        ],
    }
    path.write_text(json.dumps(digest), encoding="utf-8")

    assert load_picks(path) == {"2509.00001", "2509.00003"}


def test_picks_keyed_object_drops_versions(tmp_path):
    path = tmp_path / "output.json"
    path.write_text(json.dumps({"2509.00001v2": {"SCORE": 18}, "2509.00002": {}}), encoding="utf-8")

    assert load_picks(path) == {"2509.00001", "2509.00002"}


def test_listing_missing_file(tmp_path):
    path = tmp_path / "missing.jsonl"

    with pytest.raises(ConfigError, match="cannot read the listing") as error:
        load_listing_file(path)

    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "line",
    [
        "{not json",
        '{"title": "no id", "summary": "S"}',
        '{"id": "2509.00001", "summary": "no title"}',
        "[1, 2]",
        '"a string"',
    ],
)
def test_listing_bad_line(tmp_path, line):
    path = tmp_path / "day.jsonl"
    path.write_text('{"id": "2509.00001", "title": "T", "summary": "S"}\n' + line + "\n", encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        load_listing_file(path)

    assert f"{path}, line 2:" in str(error.value)


def test_listing_empty_file(tmp_path):
    path = tmp_path / "day.jsonl"
    path.write_text("\n\n", encoding="utf-8")

    with pytest.raises(ConfigError, match="contains no papers") as error:
        load_listing_file(path)

    assert str(path) in str(error.value)


def test_picks_missing_file(tmp_path):
    path = tmp_path / "missing.json"

    with pytest.raises(ConfigError, match="cannot read the picks") as error:
        load_picks(path)

    assert str(path) in str(error.value)


def test_picks_not_json(tmp_path):
    path = tmp_path / "picks.json"
    path.write_text("2509.00001\n2509.00002\n", encoding="utf-8")

    with pytest.raises(ConfigError, match="are not JSON") as error:
        load_picks(path)

    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"papers": []},
        {"papers": [{"id": "2509.00001", "relevant": False}]},
    ],
)
def test_picks_empty(tmp_path, document):
    path = tmp_path / "picks.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(ConfigError, match="contains no picked papers") as error:
        load_picks(path)

    assert str(path) in str(error.value)


def test_picks_json_list_rejected(tmp_path):
    path = tmp_path / "picks.json"
    path.write_text('["2509.00001"]', encoding="utf-8")

    with pytest.raises(ConfigError, match="neither a paperdigest digest JSON") as error:
        load_picks(path)

    assert str(path) in str(error.value)


def test_evaluation_in_top():
    result = Evaluation("keywords", papers=10, picks=5, pick_ranks=(1, 3, 4, 7, 10))

    assert result.in_top(1) == 1
    assert result.in_top(3) == 2
    assert result.in_top(4) == 3
    assert result.in_top(9) == 4
    assert result.in_top(10) == 5
    assert result.in_top(0) == 0


def test_evaluation_kept_at():
    result = Evaluation("keywords", papers=10, picks=5, pick_ranks=(1, 3, 4, 7, 10))

    assert result.kept_at(0.25) == 2  # ceil(2.5) = 3 places
    assert result.kept_at(0.3) == 2  # 0.3 * 10 is 3.0000000000000004 in floats, still 3 places
    assert result.kept_at(0.4) == 3
    assert result.kept_at(0.7) == 4
    assert result.kept_at(1.0) == 5


def test_evaluation_to_dict():
    result = Evaluation("keywords", papers=10, picks=5, pick_ranks=(1, 3, 4, 7, 10), seconds=0.12345)

    assert result.to_dict() == {
        "ranker": "keywords",
        "papers": 10,
        "picks": 5,
        "top_10": 5,
        "top_20": 5,
        "kept_at_40": 3,
        "kept_at_60": 3,
        "kept_at_80": 4,
        "pick_ranks": [1, 3, 4, 7, 10],
        "seconds": 0.123,
    }


def test_evaluate_counts_picks_present():
    papers = [Paper(f"2509.0000{i}", 1, "T", (), "A", ("cs.LG",), "new") for i in range(1, 5)]
    ranking = [Ranked(paper, rank, 0.0) for rank, paper in enumerate(reversed(papers), 1)]

    result = evaluate("keywords", ranking, {"2509.00001", "2509.00003", "2509.99999"})

    assert result.papers == 4
    assert result.picks == 2
    assert result.pick_ranks == (2, 4)


def test_format_table_row():
    result = Evaluation("keywords", papers=10, picks=5, pick_ranks=(1, 3, 4, 7, 10), seconds=0.5)

    assert format_table([result]).splitlines()[-1] == "| keywords | 5 of 5 | 5 | 3 | 3 | 4 | 0.50 |"


def test_keywords_ranker_on_fixture_day(listing, picks):
    profile = parse_topics(REFERENCE_TOPICS.read_text(encoding="utf-8"))

    result = evaluate("keywords", Ranker("keywords", profile).rank(listing), picks)

    assert result.papers == 188
    assert result.picks == 18
    assert result.in_top(20) >= 9


def test_combined_ranker_on_fixture_day(listing, picks):
    pytest.importorskip("wordllama")
    profile = parse_topics(REFERENCE_TOPICS.read_text(encoding="utf-8"))

    result = evaluate("keywords+embeddings", Ranker("keywords+embeddings", profile).rank(listing), picks)

    assert result.picks == 18
    assert result.kept_at(0.6) >= 17


def test_listing_as_json_array(tmp_path):
    path = tmp_path / "listing.json"
    path.write_text('[{"id": "2509.00001v2", "title": "A", "summary": "x", "categories": ["cs.LG"]},'
                    ' {"id": "2509.00002", "title": "B", "abstract": "y", "categories": ["cs.CV"]}]')

    papers = load_listing_file(path)

    assert [(p.id, p.version) for p in papers] == [("2509.00001", 2), ("2509.00002", 1)]
    assert [p.id for p in select_categories(papers, ["cs.LG"])] == ["2509.00001"]


def test_duplicate_ids_keep_longer_abstract(tmp_path):
    path = tmp_path / "listing.jsonl"
    path.write_text(
        '{"id": "2509.00001", "title": "A", "summary": ""}\n'
        '{"id": "2509.00001", "title": "A", "summary": "The full abstract."}\n'
    )

    papers = load_listing_file(path)

    assert len(papers) == 1
    assert papers[0].abstract == "The full abstract."


@pytest.mark.parametrize("line", ['{"id": null, "title": "x"}', '{"id": "2509.00001"}'])
def test_listing_entry_needs_id_and_title(tmp_path, line):
    path = tmp_path / "listing.jsonl"
    path.write_text(line + "\n")

    with pytest.raises(ConfigError, match="line 1"):
        load_listing_file(path)


def test_eval_command_rejects_picks_outside_listing(tmp_path):
    from click.testing import CliRunner

    from paperdigest.cli import EXIT_USAGE, main

    picks = tmp_path / "picks.json"
    picks.write_text('{"papers": [{"id": "2509.00001", "relevant": true}]}')
    listing = Path(__file__).parent / "fixtures" / "selection" / "2025-09-12.listing.jsonl"
    topics = Path(__file__).parent.parent / "prompts" / "topics.md"

    result = CliRunner().invoke(main, ["eval", "--listing", str(listing), "--picks", str(picks), "--topics", str(topics), "--ranker", "keywords"])

    assert result.exit_code == EXIT_USAGE
    assert "none of the 1 picks" in result.output


def test_eval_command_rejects_non_utf8_topics(tmp_path):
    from click.testing import CliRunner

    from paperdigest.cli import EXIT_USAGE, main

    topics = tmp_path / "topics.md"
    topics.write_bytes(b"caf\xe9 pruning\n")
    selection = Path(__file__).parent / "fixtures" / "selection"

    result = CliRunner().invoke(
        main,
        ["eval", "--listing", str(selection / "2025-09-12.listing.jsonl"), "--picks", str(selection / "2025-09-12.picks.json"), "--topics", str(topics)],
    )

    assert result.exit_code == EXIT_USAGE
    assert "is not UTF-8 text" in result.output


def test_picks_digest_json_skips_followed_below_cutoffs(tmp_path):
    path = tmp_path / "digest.json"
    path.write_text(
        '{"cutoffs": {"relevance": 7, "novelty": 7}, "papers": ['
        '{"id": "2509.00001", "relevant": true, "followed": false, "relevance": 9, "novelty": 8},'
        '{"id": "2509.00002", "relevant": true, "followed": true, "relevance": 5, "novelty": 5},'
        '{"id": "2509.00003", "relevant": true, "followed": true, "relevance": 8, "novelty": 7},'
        '{"id": "2509.00004", "relevant": true, "followed": true, "relevance": null, "novelty": null}]}'
    )

    assert load_picks(path) == {"2509.00001", "2509.00003"}


def test_listing_categories_as_string(tmp_path):
    path = tmp_path / "listing.jsonl"
    path.write_text('{"id": "2509.00001", "title": "A", "abstract": "x", "categories": "cs.LG stat.ML"}\n')

    papers = load_listing_file(path)

    assert papers[0].categories == ("cs.LG", "stat.ML")
    assert select_categories(papers, ["cs"]) == papers
