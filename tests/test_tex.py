import pytest

from paperdigest.tex import decode_tex, fold_name, split_authors

DECODED = [
    (r'G\"okhan', "Gökhan"),
    (r"Richt\'arik", "Richtárik"),
    (r"Hau{\ss}er", "Haußer"),
    (r"Bart{\l}omiej", "Bartłomiej"),
    (r'{\"o}', "ö"),
    (r'\"{o}', "ö"),
    (r"\'{\i}", "í"),
    (r"\'\i", "í"),
    (r"\c{c}", "ç"),
    (r"\v{s}", "š"),
    (r"\v{S}", "Š"),
    (r"\~n", "ñ"),
    (r"\^o", "ô"),
    (r"\`e", "è"),
    (r"\=a", "ā"),
    (r"\.z", "ż"),
    (r"\.I", "İ"),
    (r"\u{a}", "ă"),
    (r"\H{o}", "ő"),
    (r"\r{a}", "å"),
    (r"\k{a}", "ą"),
    (r"{\o}", "ø"),
    (r"{\O}", "Ø"),
    (r"{\aa}", "å"),
    (r"{\AA}", "Å"),
    (r"{\ae}", "æ"),
    (r"{\AE}", "Æ"),
    (r"{\oe}", "œ"),
    (r"{\ss}", "ß"),
    (r"{\L}", "Ł"),
    (r"{\l}", "ł"),
    (r"{\i}", "ı"),
    (r"{\j}", "ȷ"),
    (r"Ayd{\i}n Bulu\c{c}", "Aydın Buluç"),
    (r"Kalle {\AA}str\"om", "Kalle Åström"),
    (r"v{\'e}rit{\'e}s", "vérités"),
    (r"Kolbj\o rnsen", "Kolbjørnsen"),
]


@pytest.mark.parametrize(("tex", "expected"), DECODED)
def test_decode_tex_accent(tex, expected):
    assert decode_tex(tex) == expected


def test_decode_tex_result_is_nfc():
    assert decode_tex(r'G\"okhan') == "G\u00f6khan"


@pytest.mark.parametrize(
    "text",
    [
        r"$\alpha \cdot \vec{x}$",
        r"\emph{word}",
        r"$\text{S}^2$Q-VDiT",
        r"\bar{x} and \kappa",
        "plain text",
        "back\\",
    ],
)
def test_decode_tex_unknown_unchanged(text):
    assert decode_tex(text) == text


def test_fold_name_gokhan_spellings():
    assert fold_name(r'G\"okhan') == fold_name("Gökhan")
    assert fold_name("Gökhan") == fold_name("Gokhan")


def test_fold_name_case_and_spaces():
    assert fold_name("  GÖKHAN   poyraz ") == "gokhan poyraz"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Haußer", "hausser"),
        ("Bartłomiej", "bartlomiej"),
        ("Kolbjørnsen", "kolbjornsen"),
        ("Ærø", "aero"),
        ("Œuvre", "oeuvre"),
        ("Đorđe", "dorde"),
        ("Aydın", "aydin"),
    ],
)
def test_fold_name_special_letters(name, expected):
    assert fold_name(name) == expected


def test_fold_name_initials_separators():
    assert fold_name("J.-P. Serre") == fold_name("J. P. Serre")


def test_split_authors_plain():
    assert split_authors("Antonin Monteil, Paul Pegon") == ("Antonin Monteil", "Paul Pegon")


def test_split_authors_affiliations_with_commas():
    creator = (
        "Trung-tin Dinh (IRAP, LAAS-PHOTO, UT3, LAAS), Herv\\'e Carfantan (IRAP), "
        "Antoine Monmayrant (LAAS-PHOTO), Simon Lacroix (LAAS-RIS)"
    )
    assert split_authors(creator) == (
        "Trung-tin Dinh",
        "Herv\\'e Carfantan",
        "Antoine Monmayrant",
        "Simon Lacroix",
    )


def test_split_authors_and_inside_affiliation():
    creator = (
        "Chanjuan Liu (School of Computer Science and Technology, Dalian University of Technology, "
        "Dalian, China), Shengzhi Wang (Institute of Computing Technology, Guangzhou University, "
        "Guangzhou, China)"
    )
    assert split_authors(creator) == ("Chanjuan Liu", "Shengzhi Wang")


def test_split_authors_final_and():
    assert split_authors("Ann Lee, Bo Chen, and Cy Park") == ("Ann Lee", "Bo Chen", "Cy Park")


def test_split_authors_two_with_and():
    assert split_authors("Ann Lee and Bo Chen") == ("Ann Lee", "Bo Chen")


def test_split_authors_empty():
    assert split_authors("") == ()


def test_split_authors_unbalanced_parenthesis():
    assert split_authors("Ann Lee (MIT, Bo Chen") == ("Ann Lee", "Bo Chen")
