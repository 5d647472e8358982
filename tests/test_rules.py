"""Author and keyword rules."""

from __future__ import annotations

from paperdigest.config import RuleSettings
from paperdigest.models import Paper
from paperdigest.rules import Keyword, Rules


def paper(pid="2509.00001", title="A title", abstract="An abstract.", authors=("Ann Author",), announce_type="new"):
    return Paper(pid, 1, title, tuple(authors), abstract, ("cs.LG",), announce_type)


def rules(**settings) -> Rules:
    return Rules(RuleSettings(**settings), ("new", "cross"))


def test_keyword_phrase_case_insensitive():
    assert Keyword.parse("Sparse Autoencoder").matches("we train a sparse   autoencoder here")


def test_keyword_word_boundaries():
    assert not Keyword.parse("MoE").matches("Moerman's theorem")


def test_keyword_regex():
    assert Keyword.parse("/quanti[sz]ation/").matches("Post-training Quantisation")


def test_followed_author_tex_escapes():
    tex_rules = rules(authors=['Ahmet G\\"okhan Poyraz'])
    for name in ("Ahmet Gökhan Poyraz", "Ahmet Gokhan Poyraz", 'Ahmet G\\"okhan Poyraz', "AHMET GÖKHAN POYRAZ"):
        triage = tex_rules.triage([paper(authors=(name,))])
        assert triage.followed == {"2509.00001": (name,)}, name


def test_excluded_author_unicode_matches_tex():
    triage = rules(exclude_authors=["Peter Richtárik"]).triage([paper(authors=("Peter Richt\\'arik",))])
    assert triage.candidates == ()
    assert triage.dropped["2509.00001"] == "excluded author Peter Richtárik"


def test_keywords_keep_only_matching():
    papers = [paper("1", title="Pruning LLMs"), paper("2", title="Protein folding")]
    triage = rules(keywords=["pruning"]).triage(papers)
    assert [p.id for p in triage.candidates] == ["1"]
    assert "no keyword" in triage.dropped["2"]


def test_exclude_keyword_drops():
    triage = rules(exclude_keywords=["survey"]).triage([paper(title="A Survey of MoE")])
    assert triage.dropped["2509.00001"] == 'excluded keyword "survey"'


def test_announce_type_dropped():
    triage = rules().triage([paper(announce_type="replace")])
    assert "announce type replace" in triage.dropped["2509.00001"]


def test_followed_author_overrides_keyword_rules():
    triage = rules(authors=["Ann Author"], exclude_keywords=["title"], keywords=["absent"]).triage([paper()])
    assert [p.id for p in triage.candidates] == ["2509.00001"]


def test_followed_author_still_needs_announce_type():
    triage = rules(authors=["Ann Author"]).triage([paper(announce_type="replace")])
    assert triage.candidates == ()
