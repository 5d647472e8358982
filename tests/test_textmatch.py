"""Stemming, term building and phrase counting for the offline rankers."""

from __future__ import annotations

import pytest

from paperdigest.textmatch import PhraseIndex, make_term, stem, stems


def term(phrase: str):
    built = make_term(phrase)
    assert built is not None, phrase
    return built


def abbreviation(text: str):
    built = make_term(text, exact_case=True)
    assert built is not None, text
    return built


@pytest.mark.parametrize(
    "words",
    [
        ("quantization", "quantized", "quantize", "quantizing", "Quantization"),
        ("sparse", "sparsity", "Sparse"),
        ("pruning", "pruned", "prune", "prunes"),
        ("transformer", "transformers"),
        ("network", "networks"),
    ],
)
def test_stem_maps_word_forms_together(words):
    assert {stem(word) for word in words} == {stem(words[0])}


def test_stem_keeps_four_letters():
    assert stem("uses") == "use"
    assert stem("bits") == "bit"
    assert len(stem("rated")) >= 4


@pytest.mark.parametrize(
    ("one", "other"),
    [("gradient", "gradients"), ("policy", "policies"), ("apply", "applied"), ("approach", "approaches"), ("LLM", "LLMs"), ("patient", "patients")],
)
def test_stem_maps_plural_to_singular(one, other):
    assert stem(one) == stem(other)


def test_stem_keeps_words_that_are_no_plurals():
    assert stem("analysis").startswith("analys")
    assert stem("bias") == "bias"
    assert stem("corpus") == "corpus"


def test_stems_splits_hyphens_and_punctuation():
    assert stems("Low-rank, sparse (pruned) models.") == ["low", "rank", "spars", "prun", "model"]


def test_make_term_single_word():
    built = term("Quantization")

    assert built.words == ("quantiz",)
    assert built.text == "Quantization"
    assert built.key == ("quantiz",)
    assert not built.exact_case


def test_make_term_drops_stopwords():
    assert term("Mixture of Experts").words == ("mixtur", "expert")


def test_make_term_normalises_spaces():
    assert term("  dictionary \n learning ").text == "dictionary learning"


@pytest.mark.parametrize("word", ["methods", "Architecture", "learning", "network", "approach", "novel"])
def test_make_term_rejects_lone_generic_word(word):
    assert make_term(word) is None


def test_make_term_generic_word_counts_in_phrase():
    assert term("contrastive methods").words == ("contrast", "method")
    assert term("learning rate").words == ("learn", "rate")


@pytest.mark.parametrize(
    "phrase",
    ["how deep networks encode information in their layers", "one two three four five six"],
)
def test_make_term_rejects_over_five_words(phrase):
    assert make_term(phrase) is None


def test_make_term_three_words_accepted():
    assert term("distributed training techniques").words == ("distribut", "train", "techniqu")


@pytest.mark.parametrize("phrase", ["", "   ", "the", "of the", "42"])
def test_make_term_rejects_stopwords_and_numbers(phrase):
    assert make_term(phrase) is None


def test_make_term_exact_case():
    built = abbreviation("MoE")

    assert built.exact_case
    assert built.words == ("MoE",)
    assert built.key == ("=MoE",)


def test_make_term_exact_case_rejects_non_word():
    assert make_term("Mo E", exact_case=True) is None
    assert make_term("-MoE", exact_case=True) is None


def test_make_term_exact_case_keeps_hyphenated_abbreviation():
    built = make_term("LoRA-FA", exact_case=True)

    assert built is not None
    assert PhraseIndex([built]).count("we adapt LoRA-FA to vision")[built.key] == 1


def test_index_counts_stemmed_forms():
    found = PhraseIndex([term("quantization")]).count("Quantized weights: we quantize twice, quantization once.")

    assert found[("quantiz",)] == 3


def test_index_hyphen_and_space_match_alike():
    index = PhraseIndex([term("low-rank")])

    assert index.count("low-rank adapters")[("low", "rank")] == 1
    assert index.count("low rank adapters")[("low", "rank")] == 1
    assert index.count("Low-Rank and low rank")[("low", "rank")] == 2


def test_index_multiword_needs_adjacent_words():
    index = PhraseIndex([term("dictionary learning")])

    assert index.count("dictionary learning of features")[("dictionary", "learn")] == 1
    assert ("dictionary", "learn") not in index.count("a dictionary helps learning")
    assert ("dictionary", "learn") not in index.count("learning dictionary")


def test_index_phrase_at_end_of_text():
    index = PhraseIndex([term("memory optimization")])

    assert index.count("we study memory optimization")[("memory", "optimiz")] == 1
    assert ("memory", "optimiz") not in index.count("we study memory")


def test_index_absent_terms_not_in_counter():
    found = PhraseIndex([term("pruning"), term("quantization")]).count("pruning only")

    assert dict(found) == {("prun",): 1}


def test_index_abbreviation_with_plural():
    index = PhraseIndex([abbreviation("MoE")])

    assert index.count("MoE layers")[("=MoE",)] == 1
    assert index.count("sparse MoEs scale")[("=MoE",)] == 1
    assert index.count("(MoE) and MoE-based routing")[("=MoE",)] == 2


def test_index_abbreviation_exact_case_boundaries():
    index = PhraseIndex([abbreviation("MoE")])

    for text in ("the moe layer", "MOE", "Moerman's theorem", "SteerMoE steers experts", "MoEx"):
        assert ("=MoE",) not in index.count(text), text


def test_index_repeated_terms_kept_once():
    index = PhraseIndex([term("sparse"), term("Sparsity"), abbreviation("MoE"), abbreviation("MoE")])

    assert [t.text for t in index.terms] == ["Sparsity", "MoE"]
    assert index.count("sparse sparsity")[("spars",)] == 2


def test_index_overlapping_terms_both_count():
    index = PhraseIndex([term("low-rank"), term("rank")])

    found = index.count("a low-rank update")

    assert found[("low", "rank")] == 1
    assert found[("rank",)] == 1


def test_index_phrase_with_stopword():
    index = PhraseIndex([term("Mixture of Experts")])

    assert index.count("a sparse Mixture of Experts layer")[("mixtur", "expert")] == 1
    assert index.count("Mixture-of-Experts routing")[("mixtur", "expert")] == 1


def test_stem_word_ending_in_double_s():
    assert stem("compress") == stem("compressed")


@pytest.mark.parametrize("text", ["Schrodinger bridges", 'Schr\\"odinger bridge', "Schro\u0308dinger bridge", "SCHRÖDINGER BRIDGE"])
def test_index_folds_accents_and_tex(text):
    built = term("Schrödinger bridge")

    assert PhraseIndex([built]).count(text)[built.key] == 1


@pytest.mark.parametrize(("phrase", "text"), [("spatio-temporal modeling", "Spatiotemporal Modeling"), ("low-rank", "a lowrank update"), ("fine-tuning", "finetuning")])
def test_index_joins_compounds(phrase, text):
    built = term(phrase)

    assert PhraseIndex([built]).count(text)[built.key] == 1


@pytest.mark.parametrize(("phrase", "text"), [("finetuning", "Fine-Tuning of LLMs"), ("spatiotemporal", "spatio-temporal data"), ("pretraining", "pre training")])
def test_index_joins_split_words(phrase, text):
    built = term(phrase)

    assert PhraseIndex([built]).count(text)[built.key] == 1
