"""Offline rankings of papers against the topics: keywords, embeddings and both."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from paperdigest.errors import ConfigError, EmbeddingsUnavailable
from paperdigest.models import Paper
from paperdigest.ranking import (
    RANKERS,
    UNMATCHED_MAX_RELEVANCE,
    OfflineScorer,
    Ranker,
    keep_count,
    relevance_for,
)
from paperdigest.topics import parse_topics

REFERENCE_TOPICS = Path(__file__).parent / "fixtures" / "selection" / "topics-reference.md"

# No words of a foundational preference here, so only term matches decide the keywords ranking.
TOPICS = """\
1. Model compression
   - Relevant: quantization, pruning, low-rank methods
2. Representation learning
   - Relevant: dictionary learning, contrastive methods

Keywords: sparsity, Mixture of Experts (MoE)

Areas the reader does not follow: reinforcement learning
"""


def make_paper(paper_id: str, title: str, abstract: str) -> Paper:
    return Paper(paper_id, 1, title, ("Ada Lovelace",), abstract, ("cs.LG",), "new")


TITLE_MATCH = make_paper(
    "2509.00001",
    "Post-training quantization of language models",
    "We store the weights of a language model in four bits and measure the speed of inference.",
)
ABSTRACT_MATCH = make_paper(
    "2509.00002",
    "Faster inference for language models",
    "We apply quantization to the weights of a language model and measure the speed of inference.",
)
UNRELATED = make_paper(
    "2509.00003",
    "Protein folding with graph models",
    "We predict protein structures from sequences and report accuracy on a folding benchmark.",
)
NOT_FOLLOWED = make_paper(
    "2509.00004",
    "Reinforcement learning for robot arms",
    "We train a control policy with reinforcement learning and report the reward on a robot arm.",
)
PAPERS = (UNRELATED, NOT_FOLLOWED, ABSTRACT_MATCH, TITLE_MATCH)


def ranked_ids(ranking) -> list[str]:
    return [item.paper.id for item in ranking]


@pytest.fixture(scope="module")
def profile():
    return parse_topics(TOPICS)


def test_title_match_above_abstract_match(profile):
    ranking = Ranker("keywords", profile).rank(PAPERS)

    assert ranked_ids(ranking).index(TITLE_MATCH.id) < ranked_ids(ranking).index(ABSTRACT_MATCH.id)
    assert ranking[0].paper == TITLE_MATCH
    assert ranking[0].matched == ("quantization",)


def test_abstract_match_above_unrelated(profile):
    ranking = Ranker("keywords", profile).rank(PAPERS)

    assert ranked_ids(ranking).index(ABSTRACT_MATCH.id) < ranked_ids(ranking).index(UNRELATED.id)
    assert ranking[1].paper == ABSTRACT_MATCH


def test_area_not_followed_ranks_last(profile):
    ranking = Ranker("keywords", profile).rank(PAPERS)

    assert ranking[-1].paper == NOT_FOLLOWED
    assert ranking[-1].against == ("reinforcement learning",)
    assert ranking[-1].matched == ()
    assert ranking[-1].score < ranking[-2].score


def test_ranks_start_at_one_in_order(profile):
    ranking = Ranker("keywords", profile).rank(PAPERS)

    assert [item.rank for item in ranking] == [1, 2, 3, 4]
    assert [item.score for item in ranking] == sorted((item.score for item in ranking), reverse=True)


def test_rank_empty_list(profile):
    assert Ranker("keywords", profile).rank([]) == []


def test_ties_keep_given_order():
    ranking = Ranker("keywords", parse_topics("Keywords: dictionary learning\n")).rank(PAPERS)

    assert ranked_ids(ranking) == [paper.id for paper in PAPERS]
    assert all(item.score == 0.0 for item in ranking)


def test_abbreviation_term_matches(profile):
    moe = make_paper("2509.00005", "Routing in sparse MoEs", "Experts are chosen per token.")

    ranking = Ranker("keywords", profile).rank([UNRELATED, moe])

    assert ranking[0].paper == moe
    assert set(ranking[0].matched) == {"MoE", "sparsity"}


def test_rule_keyword_phrase_counts(profile):
    ranking = Ranker("keywords", profile, rule_keywords=["protein folding"]).rank(PAPERS)

    assert ranking[0].paper == UNRELATED
    assert ranking[0].matched == ("protein folding",)


def test_rule_keyword_regex_counts(profile):
    ranking = Ranker("keywords", profile, rule_keywords=["/fold(ing|s)?/"]).rank(PAPERS)

    assert ranking[0].paper == UNRELATED
    assert ranking[0].matched == ("/fold(ing|s)?/",)


def test_rule_keyword_alone_without_topics():
    ranking = Ranker("keywords", parse_topics(""), rule_keywords=["robot"]).rank(PAPERS)

    assert ranking[0].paper == NOT_FOLLOWED
    assert ranking[0].matched == ("robot",)


def test_unknown_ranker_raises_config_error(profile):
    with pytest.raises(ConfigError, match="unknown ranker 'bm25'") as error:
        Ranker("bm25", profile)

    for name in RANKERS:
        assert name in str(error.value)


@pytest.mark.parametrize(
    ("rank", "total", "relevance"),
    [
        (1, 100, 10),
        (5, 100, 10),
        (6, 100, 9),
        (20, 100, 7),
        (21, 100, 6),
        (100, 100, 1),
        (1, 1, 10),
        (1, 4, 10),
        (2, 4, 9),
        (5, 5, 6),
        (20, 20, 1),
    ],
)
def test_relevance_for_bands(rank, total, relevance):
    assert relevance_for(rank, total) == relevance


def test_relevance_for_never_rises_with_rank():
    values = [relevance_for(rank, 188) for rank in range(1, 189)]

    assert values == sorted(values, reverse=True)
    assert values[0] == 10
    assert values[-1] == 1


@pytest.mark.parametrize(
    ("keep", "total", "count"),
    [
        (0.6, 188, 113),
        (0.5, 10, 5),
        (0.3, 10, 3),
        (1.0, 10, 10),
        (50, 10, 10),
        (5, 10, 5),
        (1, 10, 1),
    ],
)
def test_keep_count(keep, total, count):
    assert keep_count(keep, total) == count


def test_offline_scorer_scores(profile):
    outcome = OfflineScorer(Ranker("keywords", profile)).score(PAPERS)

    assert set(outcome.scores) == set([paper.id for paper in PAPERS])
    first = outcome.scores[TITLE_MATCH.id]
    assert first.novelty is None
    assert first.rank == 1
    assert first.relevance == 10
    assert first.comment == "Offline ranking: 1 of 4. Matches: quantization."


def test_offline_scorer_comment_prefix(profile):
    outcome = OfflineScorer(Ranker("keywords", profile)).score(PAPERS)

    for score in outcome.scores.values():
        assert score.comment.startswith("Offline ranking:"), score
        assert score.novelty is None, score
    assert outcome.scores[NOT_FOLLOWED.id].comment.endswith("Areas not followed: reinforcement learning.")
    assert outcome.scores[UNRELATED.id].comment.endswith("No topic term matched.")


def test_offline_scorer_caps_unmatched(profile):
    # Only one paper names an area not followed, so the unmatched others take the top places.
    papers = [UNRELATED, make_paper("2509.00006", "Weather forecasts", "We forecast rain."), NOT_FOLLOWED]

    outcome = OfflineScorer(Ranker("keywords", profile)).score(papers)

    assert outcome.scores[UNRELATED.id].rank == 1
    assert relevance_for(1, 3) > UNMATCHED_MAX_RELEVANCE
    assert outcome.scores[UNRELATED.id].relevance == UNMATCHED_MAX_RELEVANCE
    assert outcome.scores["2509.00006"].relevance == UNMATCHED_MAX_RELEVANCE
    assert outcome.scores[NOT_FOLLOWED.id].relevance <= UNMATCHED_MAX_RELEVANCE


def test_offline_scorer_name(profile):
    assert OfflineScorer(Ranker("keywords", profile)).name == "keywords"


def test_embeddings_unavailable_without_wordllama(profile, monkeypatch):
    import paperdigest.embeddings

    monkeypatch.setitem(sys.modules, "wordllama", None)
    monkeypatch.setattr(paperdigest.embeddings, "_model", None)

    for method in ("embeddings", "keywords+embeddings"):
        with pytest.raises(EmbeddingsUnavailable, match=r"pip install 'paperdigest\[embeddings\]'"):
            Ranker(method, profile)


def test_embeddings_unavailable_is_config_error():
    assert issubclass(EmbeddingsUnavailable, ConfigError)


COMPRESSION_PAPER = make_paper(
    "2509.00007",
    "Ultra-low-bit quantization of large language models",
    "We quantize the weights of large language models to two bits with learned rotations that "
    "suppress outliers, and we compare perplexity with other post-training quantization methods.",
)


@pytest.fixture(scope="module")
def reference_profile():
    return parse_topics(REFERENCE_TOPICS.read_text(encoding="utf-8"))


@pytest.mark.parametrize("method", ["embeddings", "keywords+embeddings"])
def test_embedding_ranking_deterministic(method, reference_profile):
    pytest.importorskip("wordllama")
    papers = [*PAPERS, COMPRESSION_PAPER]

    first = Ranker(method, reference_profile).rank(papers)
    second = Ranker(method, reference_profile).rank(papers)

    assert ranked_ids(first) == ranked_ids(second)
    assert [item.score for item in first] == pytest.approx([item.score for item in second])
    assert [item.similarity for item in first] == pytest.approx([item.similarity for item in second])


@pytest.mark.parametrize("method", ["embeddings", "keywords+embeddings"])
def test_quantization_closest_to_compression(method, reference_profile):
    pytest.importorskip("wordllama")

    ranking = Ranker(method, reference_profile).rank([*PAPERS, COMPRESSION_PAPER])

    item = next(item for item in ranking if item.paper == COMPRESSION_PAPER)
    assert item.topic == "Model Compression and Efficiency"
    assert item.similarity is not None
    assert 0.0 < item.similarity <= 1.0


def test_embeddings_ranks_on_topic_paper_first(reference_profile):
    pytest.importorskip("wordllama")

    ranking = Ranker("embeddings", reference_profile).rank([UNRELATED, NOT_FOLLOWED, COMPRESSION_PAPER])

    assert ranking[0].paper == COMPRESSION_PAPER
    assert all(item.matched == () for item in ranking)


def test_embeddings_scorer_does_not_cap(reference_profile):
    pytest.importorskip("wordllama")

    outcome = OfflineScorer(Ranker("embeddings", reference_profile)).score([UNRELATED, NOT_FOLLOWED, COMPRESSION_PAPER])

    top = outcome.scores[COMPRESSION_PAPER.id]
    assert top.relevance == 10
    assert "Closest topic: Model Compression and Efficiency (similarity " in top.comment


def test_embeddings_keywords_only_profile():
    pytest.importorskip("wordllama")
    profile = parse_topics("Keywords: quantization, pruning, sparsity\n")

    ranking = Ranker("embeddings", profile).rank([UNRELATED, COMPRESSION_PAPER])

    assert ranking[0].paper == COMPRESSION_PAPER
    assert ranking[0].topic == "keywords"


def test_embeddings_empty_profile_keeps_order():
    pytest.importorskip("wordllama")

    ranking = Ranker("embeddings", parse_topics("")).rank([UNRELATED, COMPRESSION_PAPER])

    assert ranked_ids(ranking) == [UNRELATED.id, COMPRESSION_PAPER.id]
    assert [item.topic for item in ranking] == ["", ""]


def test_equal_scores_get_equal_relevance():
    papers = [make_paper(f"2509.{i:05d}", "Cooking", "Recipes for soup.") for i in range(10)]
    ranker = Ranker("keywords", parse_topics("Keywords: quantization\n"))

    outcome = OfflineScorer(ranker).score(papers)

    assert len({score.relevance for score in outcome.scores.values()}) == 1


def test_embeddings_fall_back_to_rule_keywords():
    pytest.importorskip("wordllama")
    papers = [
        make_paper("2509.00001", "Soup recipes", "Cooking soup at home."),
        make_paper("2509.00002", "Quantization of neural networks", "Low-bit quantization of weights."),
    ]
    ranker = Ranker("embeddings", parse_topics(""), rule_keywords=["quantization"])

    ranking = ranker.rank(papers)

    assert ranking[0].paper.id == "2509.00002"
