"""config.toml validation and lookup order."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperdigest.config import CONFIG_ENV, load_config
from paperdigest.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loaded = load_config(None)
    assert loaded.path is None
    assert loaded.settings.llm.model == "gpt-5"
    assert loaded.settings.arxiv.announce_types == ("new", "cross")
    assert loaded.settings.output.formats == ("md", "json")


def test_full_config_parses(tmp_path):
    path = write(
        tmp_path / "c.toml",
        """
[arxiv]
categories = ["cs.lg", "cs.AI"]
announce_types = ["new"]
[rules]
authors = ['Ahmet G\\"okhan Poyraz']
keywords = ["sparse autoencoder", '/\\bMoE\\b/']
[llm]
model = "gpt-5-mini"
batch_size = 10
base_url = "http://127.0.0.1:8000/v1"
max_completion_tokens = 4000
reasoning_effort = "low"
[selection]
relevance_cutoff = 8
novelty_cutoff = 5
[output]
dir = "digests"
formats = ["md"]
[pricing."my-model"]
input = 0.5
cached_input = 0.05
output = 1.5
""",
    )
    loaded = load_config(path)
    settings = loaded.settings
    assert settings.arxiv.categories == ("cs.LG", "cs.AI")
    assert settings.rules.authors == ('Ahmet G\\"okhan Poyraz',)
    assert settings.llm.reasoning_effort == "low"
    assert settings.pricing["my-model"].output == 1.5
    assert loaded.output_dir == tmp_path / "digests"
    assert loaded.prompts_dir == tmp_path / "prompts"


def test_unknown_key_named_with_hint(tmp_path):
    message = error_of(write(tmp_path / "c.toml", '[llm]\nmodle = "gpt-5"\n'))
    assert "c.toml" in message
    assert "[llm] modle" in message
    assert "did you mean 'model'" in message


def test_unknown_section_named(tmp_path):
    message = error_of(write(tmp_path / "c.toml", "[llms]\nmodel = 1\n"))
    assert "llms" in message
    assert "llm" in message


def test_wrong_type_names_key_and_value(tmp_path):
    message = error_of(write(tmp_path / "c.toml", '[llm]\nbatch_size = "ten"\n'))
    assert "[llm] batch_size" in message
    assert "'ten'" in message


def test_bad_value_out_of_range(tmp_path):
    message = error_of(write(tmp_path / "c.toml", "[selection]\nrelevance_cutoff = 11\n"))
    assert "[selection] relevance_cutoff" in message
    assert "10" in message


def test_unknown_category_suggests(tmp_path):
    message = error_of(write(tmp_path / "c.toml", '[arxiv]\ncategories = ["cs.LGG"]\n'))
    assert "cs.LGG" in message
    assert "cs.LG" in message


def test_bad_announce_type(tmp_path):
    message = error_of(write(tmp_path / "c.toml", '[arxiv]\nannounce_types = ["news"]\n'))
    assert "[arxiv] announce_types" in message


def test_bad_regex_keyword(tmp_path):
    message = error_of(write(tmp_path / "c.toml", '[rules]\nkeywords = ["/(unclosed/"]\n'))
    assert "[rules] keywords" in message
    assert "(unclosed" in message


def test_toml_syntax_error(tmp_path):
    message = error_of(write(tmp_path / "c.toml", "[arxiv\n"))
    assert "TOML syntax error" in message
    assert "line 1" in message


def test_pricing_unknown_key(tmp_path):
    message = error_of(write(tmp_path / "c.toml", '[pricing."m"]\ninput = 1\noutput = 2\ncost = 3\n'))
    assert '[pricing."m"] cost' in message


def test_lookup_flag_beats_env(tmp_path, monkeypatch):
    flag = write(tmp_path / "flag.toml", '[llm]\nmodel = "from-flag"\n')
    env = write(tmp_path / "env.toml", '[llm]\nmodel = "from-env"\n')
    monkeypatch.setenv(CONFIG_ENV, str(env))
    assert load_config(flag).settings.llm.model == "from-flag"


def test_lookup_env_beats_cwd(tmp_path, monkeypatch):
    env = write(tmp_path / "env.toml", '[llm]\nmodel = "from-env"\n')
    write(tmp_path / "config.toml", '[llm]\nmodel = "from-cwd"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(CONFIG_ENV, str(env))
    assert load_config(None).settings.llm.model == "from-env"


def test_lookup_cwd_beats_user_folder(tmp_path, monkeypatch):
    user = tmp_path / "xdg" / "paperdigest"
    user.mkdir(parents=True)
    write(user / "config.toml", '[llm]\nmodel = "from-user"\n')
    work = tmp_path / "work"
    work.mkdir()
    write(work / "config.toml", '[llm]\nmodel = "from-cwd"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(work)
    assert load_config(None).settings.llm.model == "from-cwd"


def test_lookup_user_folder(tmp_path, monkeypatch):
    user = tmp_path / "xdg" / "paperdigest"
    user.mkdir(parents=True)
    write(user / "config.toml", '[llm]\nmodel = "from-user"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert load_config(None).settings.llm.model == "from-user"


def test_missing_explicit_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[selection]\nrelevance_cutoff = true\n", "[selection] relevance_cutoff"),
        ('[selection]\nnovelty_cutoff = "7"\n', "[selection] novelty_cutoff"),
        ("[llm]\nbatch_size = 20.0\n", "[llm] batch_size"),
        ('[llm]\nmodel = ""\n', "[llm] model"),
        ('[arxiv]\ncategories = "cs.LG"\n', "[arxiv] categories"),
        ('[rules]\nkeywords = ["//"]\n', "[rules] keywords"),
        ("[cache]\nenabled = 1\n", "[cache] enabled"),
    ],
)
def test_wrong_types_rejected(tmp_path, toml, key):
    message = error_of(write(tmp_path / "c.toml", toml))
    assert key in message


def test_integer_accepted_for_float(tmp_path):
    settings = load_config(write(tmp_path / "c.toml", "[llm]\ntimeout = 60\nmax_cost_usd = 1\n")).settings
    assert settings.llm.timeout == 60.0
    assert settings.llm.max_cost_usd == 1.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"0.6"', "is not a number; write a fraction such as 0.6"),
        ("true", "is not a number"),
        ("1", "1 keeps a single paper; write 1.0 to keep every candidate"),
        ("0", "keeps no paper"),
        ("1.5", "is not a fraction in (0, 1]"),
    ],
)
def test_prefilter_keep_errors(tmp_path, value, expected):
    message = error_of(write(tmp_path / "c.toml", f"[selection]\nprefilter_keep = {value}\n"))
    assert "[selection] prefilter_keep" in message
    assert expected in message


@pytest.mark.parametrize(("value", "kept"), [("0.6", 0.6), ("1.0", 1.0), ("50", 50)])
def test_prefilter_keep_values(tmp_path, value, kept):
    config = load_config(write(tmp_path / "c.toml", f'[selection]\nprefilter = "keywords"\nprefilter_keep = {value}\n'))
    assert config.settings.selection.prefilter_keep == kept
    assert type(config.settings.selection.prefilter_keep) is type(kept)


def test_unknown_prefilter_lists_choices(tmp_path):
    message = error_of(write(tmp_path / "c.toml", '[selection]\nprefilter = "bogus"\n'))
    assert "[selection] prefilter" in message
    assert "keywords+embeddings" in message
