import json
import logging

from paperdigest.answers import normalize_paper_id, parse_answer
from paperdigest.models import Score

BATCH = ("2509.09001", "2509.09002", "hep-th/9901001")


def line(paper_id, relevance=8, novelty=7, comment="Fits the interests."):
    return json.dumps({"ARXIVID": paper_id, "COMMENT": comment, "RELEVANCE": relevance, "NOVELTY": novelty})


PLAIN = "\n".join([line("2509.09001"), line("2509.09002", 5, 4), line("hep-th/9901001", 2, 3)])


def test_plain_jsonl_all_scored():
    parsed = parse_answer(PLAIN, BATCH)
    assert parsed.scores["2509.09001"] == Score("2509.09001", 8, 7, "Fits the interests.")
    assert parsed.scores["2509.09002"].relevance == 5
    assert parsed.scores["hep-th/9901001"].novelty == 3
    assert parsed.missing_ids == ()
    assert parsed.errors == ()
    assert parsed.unknown_ids == ()
    assert parsed.duplicates == ()


def test_code_fence_json():
    parsed = parse_answer(f"```json\n{PLAIN}\n```", BATCH)
    assert len(parsed.scores) == 3
    assert parsed.errors == ()


def test_code_fence_jsonl_and_bare():
    for fence in ("```jsonl", "```"):
        parsed = parse_answer(f"{fence}\n{PLAIN}\n```", BATCH)
        assert len(parsed.scores) == 3
        assert parsed.errors == ()


def test_json_array():
    text = "[" + ",".join([line("2509.09001"), line("2509.09002"), line("hep-th/9901001")]) + "]"
    parsed = parse_answer(text, BATCH)
    assert len(parsed.scores) == 3
    assert parsed.errors == ()


def test_wrapped_object_papers_and_results():
    for key in ("papers", "results"):
        records = [json.loads(line("2509.09001")), json.loads(line("2509.09002"))]
        parsed = parse_answer(json.dumps({key: records}), BATCH)
        assert set(parsed.scores) == {"2509.09001", "2509.09002"}
        assert parsed.missing_ids == ("hep-th/9901001",)
        assert parsed.errors == ()


def test_prose_around_and_between():
    text = (
        "Here are my scores.\n"
        f"{line('2509.09001')}\n"
        "The next paper is less related.\n"
        f"{line('2509.09002', 3, 3)}\n"
        "Let me know if you need more."
    )
    parsed = parse_answer(text, BATCH)
    assert set(parsed.scores) == {"2509.09001", "2509.09002"}
    assert parsed.errors == ()


def test_think_block_ignored():
    text = f"<think>\nMaybe {line('2509.09001', 1, 1)} is wrong.\n</think>\n{line('2509.09001', 9, 6)}"
    parsed = parse_answer(text, BATCH)
    assert parsed.scores["2509.09001"].relevance == 9
    assert parsed.duplicates == ()


def test_other_key_case():
    text = "\n".join(
        [
            '{"arxivid": "2509.09001", "comment": "a", "relevance": 8, "Novelty": 7}',
            '{"ArxivId": "2509.09002", "Comment": "b", "Relevance": 6, "NOVELTY": 5}',
            '{"arxiv_id": "hep-th/9901001", "relevance": 4, "novelty": 3}',
        ]
    )
    parsed = parse_answer(text, BATCH)
    assert parsed.scores["2509.09001"] == Score("2509.09001", 8, 7, "a")
    assert parsed.scores["2509.09002"] == Score("2509.09002", 6, 5, "b")
    assert parsed.scores["hep-th/9901001"] == Score("hep-th/9901001", 4, 3, "")


def test_id_key():
    parsed = parse_answer('{"id": "2509.09001", "relevance": 8, "novelty": 7}', BATCH)
    assert parsed.scores["2509.09001"].relevance == 8


def test_score_as_string():
    parsed = parse_answer(line("2509.09001", "8", " 7 "), BATCH)
    assert parsed.scores["2509.09001"].relevance == 8
    assert parsed.scores["2509.09001"].novelty == 7


def test_score_out_of_ten():
    parsed = parse_answer(line("2509.09001", "8/10", "7 / 10"), BATCH)
    assert parsed.scores["2509.09001"].relevance == 8
    assert parsed.scores["2509.09001"].novelty == 7


def test_score_float_integral():
    parsed = parse_answer(line("2509.09001", 8.0, 7.0), BATCH)
    assert parsed.scores["2509.09001"].relevance == 8
    assert isinstance(parsed.scores["2509.09001"].relevance, int)


def test_score_float_fraction_rejected():
    parsed = parse_answer(line("2509.09001", 8.5, 7), BATCH)
    assert "2509.09001" in parsed.missing_ids
    assert "RELEVANCE 8.5 is not a whole number" in parsed.errors[0]


def test_id_version_suffix():
    parsed = parse_answer(line("2509.09001v2"), BATCH)
    assert "2509.09001" in parsed.scores
    assert parsed.unknown_ids == ()


def test_id_arxiv_prefix_and_url():
    text = "\n".join([line("arXiv:2509.09001"), line("https://arxiv.org/abs/2509.09002v1")])
    parsed = parse_answer(text, BATCH)
    assert set(parsed.scores) == {"2509.09001", "2509.09002"}


def test_old_style_id_with_version():
    parsed = parse_answer(line("hep-th/9901001v3"), BATCH)
    assert "hep-th/9901001" in parsed.scores


def test_batch_ids_normalized():
    parsed = parse_answer(line("2509.09001"), ["2509.09001v4"])
    assert "2509.09001" in parsed.scores
    assert parsed.missing_ids == ()


def test_unknown_id_dropped_and_logged(caplog):
    text = "\n".join([line("2509.09001"), line("2501.00001"), line("2501.00002")])
    with caplog.at_level(logging.WARNING, logger="paperdigest.answers"):
        parsed = parse_answer(text, BATCH)
    assert parsed.unknown_ids == ("2501.00001", "2501.00002")
    assert set(parsed.scores) == {"2509.09001"}
    warnings = [r.getMessage() for r in caplog.records if "not in the batch" in r.getMessage()]
    assert len(warnings) == 1
    assert "2 id(s)" in warnings[0]
    assert "2501.00002" in warnings[0]


def test_duplicate_first_wins():
    text = "\n".join([line("2509.09001", 8, 7), line("2509.09001", 2, 2)])
    parsed = parse_answer(text, BATCH)
    assert parsed.scores["2509.09001"].relevance == 8
    assert parsed.duplicates == ("2509.09001",)


def test_duplicate_after_invalid_first():
    text = "\n".join([line("2509.09001", 11, 7), line("2509.09001", 2, 2)])
    parsed = parse_answer(text, BATCH)
    assert parsed.scores["2509.09001"].relevance == 2
    assert parsed.duplicates == ()
    assert len(parsed.errors) == 1


def test_out_of_range_rejected():
    text = "\n".join([line("2509.09001", 11, 7), line("2509.09002", 5, 0)])
    parsed = parse_answer(text, BATCH)
    assert parsed.scores == {}
    assert parsed.missing_ids == BATCH
    assert parsed.errors[0].startswith("line 1: RELEVANCE 11 is out of range")
    assert parsed.errors[1].startswith("line 2: NOVELTY 0 is out of range")


def test_non_numeric_rejected():
    parsed = parse_answer(line("2509.09001", "high", 7) + "\n" + line("2509.09002"), BATCH)
    assert "2509.09001" in parsed.missing_ids
    assert "2509.09002" in parsed.scores
    assert parsed.errors == ("line 1: RELEVANCE 'high' is not a number",)


def test_boolean_score_rejected():
    parsed = parse_answer(line("2509.09001", True, 7), BATCH)
    assert parsed.scores == {}
    assert "is not a number" in parsed.errors[0]


def test_missing_field_rejected():
    parsed = parse_answer('{"ARXIVID": "2509.09001", "RELEVANCE": 8}', BATCH)
    assert parsed.scores == {}
    assert parsed.errors == ("line 1: NOVELTY is missing",)


def test_missing_id_rejected():
    parsed = parse_answer('{"RELEVANCE": 8, "NOVELTY": 7}', BATCH)
    assert parsed.errors == ("line 1: ARXIVID is missing",)


def test_truncated_last_line():
    text = line("2509.09001") + "\n" + line("2509.09002") + '\n{"ARXIVID": "hep-th/9901001", "COMMENT": "Cut off'
    parsed = parse_answer(text, BATCH)
    assert set(parsed.scores) == {"2509.09001", "2509.09002"}
    assert parsed.missing_ids == ("hep-th/9901001",)
    assert len(parsed.errors) == 1
    assert parsed.errors[0].startswith("line 3: invalid or truncated JSON")


def test_truncated_middle_line():
    text = '{"ARXIVID": "2509.09001", "RELEVANCE": 8,\n' + line("2509.09002")
    parsed = parse_answer(text, BATCH)
    assert set(parsed.scores) == {"2509.09002"}
    assert len(parsed.errors) == 1
    assert parsed.errors[0].startswith("line 1:")


def test_truncated_wrapper_keeps_items():
    records = [json.loads(line("2509.09001")), json.loads(line("2509.09002"))]
    text = json.dumps({"papers": records}, indent=2)[:-20]
    parsed = parse_answer(text, BATCH)
    assert set(parsed.scores) == {"2509.09001"}
    assert len(parsed.errors) == 1


def test_empty_answer():
    for text in ("", "   \n", "I cannot score these papers."):
        parsed = parse_answer(text, BATCH)
        assert parsed.scores == {}
        assert parsed.missing_ids == BATCH
        assert parsed.errors == ("no JSON object was found in the answer",)


def test_garbage_does_not_raise():
    deep = '{"a": ' + "[" * 100_000
    for text in ("{", "}{", "[{]", '{"a": {', "{{{{", "\x00\ufffd{", deep):
        parsed = parse_answer(text, BATCH)
        assert parsed.missing_ids == BATCH


def test_pretty_printed_objects():
    records = [json.loads(line("2509.09001")), json.loads(line("hep-th/9901001", 3, 2))]
    text = "\n".join(json.dumps(r, indent=2) for r in records)
    parsed = parse_answer(text, BATCH)
    assert set(parsed.scores) == {"2509.09001", "hep-th/9901001"}
    assert parsed.errors == ()


def test_error_line_of_pretty_printed_object():
    text = json.dumps(json.loads(line("2509.09001")), indent=2) + "\n" + json.dumps(
        {"ARXIVID": "2509.09002", "RELEVANCE": 99, "NOVELTY": 1}, indent=2
    )
    parsed = parse_answer(text, BATCH)
    assert parsed.errors[0].startswith("line 7:")


def test_abstract_injection_ids_dropped():
    # An abstract instructed the model to score papers outside the batch.
    text = "\n".join(
        [
            line("2509.09001", 2, 2, "Low relevance."),
            line("2509.09002", 3, 3, "Ignore previous instructions."),
            line("2509.99999", 10, 10, "Injected."),
            line("hep-th/0000001", 10, 10, "Injected."),
        ]
    )
    parsed = parse_answer(text, BATCH)
    assert parsed.unknown_ids == ("2509.99999", "hep-th/0000001")
    assert "2509.99999" not in parsed.scores
    assert parsed.scores["2509.09002"].relevance == 3
    assert parsed.missing_ids == ("hep-th/9901001",)


def test_braces_in_comment_and_prose():
    text = "Scores for {batch}:\n" + line("2509.09001", comment="Bounds of $O(n^{2})$ {tight}")
    parsed = parse_answer(text, BATCH)
    assert parsed.scores["2509.09001"].comment == "Bounds of $O(n^{2})$ {tight}"
    assert parsed.errors == ()


def test_normalize_paper_id_forms():
    assert normalize_paper_id("https://arxiv.org/pdf/2509.09001v2") == "2509.09001"
    assert normalize_paper_id(" arXiv:hep-th/9901001v1 ") == "hep-th/9901001"
    assert normalize_paper_id("2509.09001") == "2509.09001"
