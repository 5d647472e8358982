"""Parsing topics text into the terms and sections that the offline rankers match."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperdigest.topics import TopicProfile, parse_topics, split_terms

REPO = Path(__file__).parent.parent
REPO_TOPICS = REPO / "prompts" / "topics.md"
REFERENCE_TOPICS = Path(__file__).parent / "fixtures" / "selection" / "topics-reference.md"


def texts(terms) -> list[str]:
    return [term.text for term in terms]


@pytest.fixture(scope="module")
def repo_profile() -> TopicProfile:
    return parse_topics(REPO_TOPICS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reference_profile() -> TopicProfile:
    return parse_topics(REFERENCE_TOPICS.read_text(encoding="utf-8"))


def test_repo_topics_sections(repo_profile):
    titles = [section.title for section in repo_profile.sections]

    assert titles == [
        "Model architecture",
        "Model compression and efficiency",
        "High-performance computing for large models",
        "Representation learning",
    ]


def test_repo_topics_section_terms(repo_profile):
    compression = repo_profile.sections[1]

    assert texts(compression.terms)[:4] == ["sparsity", "pruning", "quantization", "low-rank methods"]
    assert "KV cache" in texts(compression.terms)
    assert compression.text.startswith("Model compression and efficiency. sparsity, pruning")
    assert compression.not_relevant == "applying an existing compression method to a new task without changing it."


def test_repo_topics_keyword_line(repo_profile):
    assert texts(repo_profile.keywords) == [
        "Mixture of Experts",
        "representation learning",
        "compression",
        "efficiency",
        "sparsity",
        "pruning",
        "quantization",
        "low-rank",
        "foundation model",
        "MoE",
    ]


def test_repo_topics_negative_and_application(repo_profile):
    assert texts(repo_profile.negative) == [
        "reinforcement learning",
        "transfer learning",
        "federated learning",
        "online learning",
        "diffusion models",
    ]
    assert texts(repo_profile.application)[:3] == ["image segmentation", "medical imaging", "3D vision"]
    assert "knowledge graphs" in texts(repo_profile.application)
    assert len(repo_profile.application) == 13


def test_repo_topics_preamble_and_preference(repo_profile):
    assert repo_profile.preamble.startswith("The reader follows foundational machine learning research.")
    assert repo_profile.prefers_foundational is True
    assert not repo_profile.empty


def test_reference_topics_sections(reference_profile):
    titles = [section.title for section in reference_profile.sections]

    assert titles == [
        "Model Architecture",
        "Model Compression and Efficiency",
        "High Performance Computing",
        "Representation Learning",
    ]
    assert reference_profile.sections[0].not_relevant.startswith("Merely using existing architectures")


def test_reference_topics_slash_in_section(reference_profile):
    architecture, _, _, representation = reference_profile.sections

    assert "Conditional Networks" in texts(architecture.terms)
    assert "Dynamic Networks" in texts(architecture.terms)
    assert "feature learning" in texts(representation.terms)
    assert "dictionary learning" in texts(representation.terms)
    assert "sparse methods" in texts(representation.terms)
    assert "contrastive methods" in texts(representation.terms)


def test_reference_topics_keyword_bullets(reference_profile):
    keywords = texts(reference_profile.keywords)

    assert keywords[:4] == ["Mixture of Experts", "Representation Learning", "Compression", "Efficiency"]
    assert "Quantization" in keywords
    assert "Low-rank" in keywords
    # "Sparse/Sparsity" gives two phrases with the same stem, so only the first is kept.
    assert "Sparse" in keywords
    assert "Sparsity" not in keywords
    assert "etc" not in " ".join(keywords)


def test_reference_topics_negative_and_application(reference_profile):
    assert texts(reference_profile.negative) == [
        "Reinforcement Learning",
        "Transfer Learning",
        "Federated Learning",
        "Online Learning",
        "Diffusion Models",
    ]
    application = texts(reference_profile.application)
    assert "Spatial Modeling" in application
    assert "Temporal Modeling" in application
    assert "Knowledge Graph" in application


def test_reference_topics_preamble_and_preference(reference_profile):
    assert reference_profile.preamble.startswith("Use the following relevance criteria")
    assert reference_profile.prefers_foundational is True


def test_abbreviation_in_parentheses_is_exact_case(reference_profile):
    abbreviations = [term for term in reference_profile.keywords if term.exact_case]

    assert texts(abbreviations) == ["MoE"]
    assert abbreviations[0].key == ("=MoE",)
    assert "MoE" in texts(t for t in reference_profile.sections[0].terms if t.exact_case)


def test_section_terms_in_positive_once(reference_profile):
    keys = [term.key for term in reference_profile.positive]

    assert len(keys) == len(set(keys))
    assert keys[: len(reference_profile.keywords)] == [term.key for term in reference_profile.keywords]
    assert ("condition", "network") in keys


def test_split_terms_slash_before_shared_word():
    assert texts(split_terms("Conditional/Dynamic Networks")) == ["Conditional Networks", "Dynamic Networks"]


def test_split_terms_slash_after_shared_word():
    assert texts(split_terms("feature/dictionary learning")) == ["feature learning", "dictionary learning"]


def test_split_terms_slash_between_whole_words():
    terms = split_terms("Sparse/Sparsity")

    assert texts(terms) == ["Sparse", "Sparsity"]
    assert terms[0].key == terms[1].key


def test_split_terms_abbreviation_added_last():
    terms = split_terms("Mixture of Experts (MoE), pruning")

    assert texts(terms) == ["Mixture of Experts", "pruning", "MoE"]
    assert [term.exact_case for term in terms] == [False, False, True]


def test_split_terms_and_or_separate_items():
    assert texts(split_terms("low-rank and sparse methods or pruning")) == ["low-rank", "sparse methods", "pruning"]


def test_split_terms_and_inside_word_kept():
    assert texts(split_terms("random graphs, sandbox")) == ["random graphs", "sandbox"]


def test_split_terms_skips_long_descriptions():
    body = "Insights into how deep networks encode information, pruning, training dynamics in neural networks"

    terms = split_terms(body)

    assert texts(terms) == ["pruning", "training dynamics in neural networks"]


def test_split_terms_skips_lone_generic_word():
    assert texts(split_terms("methods, architectures, quantization, etc.")) == ["quantization"]


def test_negative_label_variants():
    for label in ("Irrelevant", "Not relevant", "Areas the reader does not follow", "Exclude"):
        profile = parse_topics(f"{label}: reinforcement learning, robotics\n")

        assert texts(profile.negative) == ["reinforcement learning", "robotics"], label
        assert profile.keywords == (), label


def test_application_label():
    profile = parse_topics("- Application: Medical Imaging, Time Series, etc.\n")

    assert texts(profile.application) == ["Medical Imaging", "Time Series"]
    assert profile.negative == ()


def test_indented_lines_belong_to_section():
    profile = parse_topics(
        "1. Compression\n"
        "   - Relevant: pruning, quantization\n"
        "   - Not relevant: new tasks only\n"
        "Keywords: low-rank\n"
    )

    (section,) = profile.sections
    assert texts(section.terms) == ["pruning", "quantization"]
    assert section.text == "Compression. pruning, quantization"
    assert section.not_relevant == "new tasks only"
    assert texts(profile.keywords) == ["low-rank"]


def test_unindented_not_relevant_stays_in_section():
    profile = parse_topics("1. Compression\n   - Relevant: pruning\nNot relevant: robotics\n")

    assert profile.negative == ()
    assert profile.sections[0].not_relevant == "robotics"


def test_long_unindented_label_closes_section():
    profile = parse_topics("1. Compression\n   - Relevant: pruning\nAreas the reader does not follow: robotics\n")

    assert texts(profile.negative) == ["robotics"]
    assert profile.sections[0].not_relevant == ""


def test_foundational_preference_absent():
    profile = parse_topics("Keywords: quantization, pruning\n")

    assert profile.prefers_foundational is False


def test_foundational_preference_needs_both_words():
    assert parse_topics("Foundational work only.\nKeywords: pruning\n").prefers_foundational is False
    assert parse_topics("Skip applications.\nKeywords: pruning\n").prefers_foundational is False
    assert parse_topics("Theoretical work over applications.\nKeywords: pruning\n").prefers_foundational is True
    assert parse_topics("Keywords: graph theory, GNN applications\n").prefers_foundational is False


def test_empty_text_gives_empty_profile():
    profile = parse_topics("")

    assert profile == TopicProfile()
    assert profile.empty
    assert profile.positive == ()


def test_plain_text_gives_empty_profile():
    profile = parse_topics("## Topics\n\nPapers about anything interesting.\n")

    assert profile.empty
    assert profile.preamble == "Papers about anything interesting."


def test_quoted_topics_section_of_digest():
    text = (
        "# Digest\n\n1. [A paper title](#link1)\n\n## Paper Selection Prompt\n\n"
        "> ## Relevant Topics\n>\n> 1. Model Compression\n>    - Relevant: pruning, quantization\n"
        ">    - Irrelevant: applying known methods.\n>\n> **Keywords:**\n>\n> - Irrelevant: Federated Learning\n"
    )

    profile = parse_topics(text)

    assert [s.title for s in profile.sections] == ["Model Compression"]
    assert [t.text for t in profile.sections[0].terms] == ["pruning", "quantization"]
    assert [t.text for t in profile.negative] == ["Federated Learning"]


def test_bullet_list_read_as_keywords():
    profile = parse_topics("- quantization\n- pruning\n- mixture of experts\n")

    assert [t.text for t in profile.keywords] == ["quantization", "pruning", "mixture of experts"]
    assert not profile.empty


def test_heading_sections_with_bullets():
    profile = parse_topics("## Model compression\n- pruning\n- quantization\n\n## Not interested\n- reinforcement learning\n")

    assert [s.title for s in profile.sections] == ["Model compression"]
    assert [t.text for t in profile.sections[0].terms] == ["pruning", "quantization"]
    assert [t.text for t in profile.negative] == ["reinforcement learning"]


def test_numbered_heading_opens_section():
    profile = parse_topics("# My topics\n\n## 1. Model compression\nPruning of large models.\n- Relevant: low-rank\n")

    assert [s.title for s in profile.sections] == ["Model compression"]
    assert [t.text for t in profile.sections[0].terms] == ["low-rank"]
    assert "Pruning of large models." in profile.sections[0].text


def test_label_line_then_bullets():
    profile = parse_topics("Keywords:\n- Schrödinger bridge\n- diffusion\nNot interested:\n- robotics\n")

    assert [t.text for t in profile.keywords] == ["Schrödinger bridge", "diffusion"]
    assert [t.text for t in profile.negative] == ["robotics"]


def test_prose_only_is_empty():
    assert parse_topics("I like good papers about learning.\n").empty


def test_area_label_after_sections_is_global():
    profile = parse_topics("1. Compression\n- Relevant: pruning\nNot relevant: chemistry\nAvoid: reinforcement learning\n")

    assert [t.text for t in profile.negative] == ["reinforcement learning"]
    assert profile.sections[0].not_relevant == "chemistry"


def test_area_label_after_heading_sections_is_global():
    profile = parse_topics("## Graphs\n- GNN\nAreas the reader does not follow: robotics\nNot interested: RL\n")

    assert [t.text for t in profile.negative] == ["robotics", "RL"]
