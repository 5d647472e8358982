"""`init` and `render`: the starter files and re-rendering a saved digest offline."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from paperdigest.cli import EXIT_USAGE, main

REPO = Path(__file__).parent.parent
FEED_DIR = Path(__file__).parent / "fixtures" / "rss" / "2025-09-12"


def test_init_writes_runnable_files(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "mine")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mine" / "config.toml").is_file()
    for name in ("system.md", "topics.md", "criteria.md"):
        assert (tmp_path / "mine" / "prompts" / name).is_file()
    assert "paperdigest run --config" in result.output
    run = runner.invoke(
        main,
        ["run", "--config", str(tmp_path / "mine" / "config.toml"), "--date", "2025-09-12", "--source", str(FEED_DIR), "--scorer", "keywords"],
    )
    assert run.exit_code == 0, run.output
    assert (tmp_path / "mine" / "out" / "2025-09-12.md").is_file()


def test_init_refuses_overwrite(tmp_path):
    (tmp_path / "config.toml").write_text("# mine\n")
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == EXIT_USAGE
    assert "--force" in result.output
    assert (tmp_path / "config.toml").read_text() == "# mine\n"


def test_init_force_overwrites(tmp_path):
    (tmp_path / "config.toml").write_text("# mine\n")
    result = CliRunner().invoke(main, ["init", str(tmp_path), "--force"])
    assert result.exit_code == 0, result.output
    assert "[arxiv]" in (tmp_path / "config.toml").read_text()


def test_starter_config_matches_repository():
    packaged = (REPO / "paperdigest" / "templates" / "config.toml").read_text()
    assert packaged == (REPO / "config.toml").read_text()


def test_starter_prompts_match_repository():
    for name in ("system.md", "topics.md", "criteria.md"):
        assert (REPO / "paperdigest" / "prompts" / name).read_text() == (REPO / "prompts" / name).read_text(), name


def test_render_from_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    runner.invoke(main, ["init", "."])
    runner.invoke(main, ["run", "--date", "2025-09-12", "--source", str(FEED_DIR), "--scorer", "keywords"])
    original = (tmp_path / "out" / "2025-09-12.md").read_text()
    (tmp_path / "out" / "2025-09-12.md").unlink()
    result = runner.invoke(main, ["render", "out/2025-09-12.json", "--format", "md", "--format", "html"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "2025-09-12.md").read_text() == original
    html = (tmp_path / "out" / "2025-09-12.html").read_text()
    assert html.count('<section class="paper"') == json.loads((tmp_path / "out" / "2025-09-12.json").read_text())["counts"]["relevant"]


def test_render_bad_json(tmp_path):
    path = tmp_path / "2025-09-12.json"
    path.write_text('{"date": "2025-09-12"}')
    result = CliRunner().invoke(main, ["render", str(path)])
    assert result.exit_code == EXIT_USAGE
    assert str(path) in result.output
    assert "Traceback" not in result.output


def test_html_format_from_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('[output]\nformats = ["md", "json", "html"]\n')
    result = CliRunner().invoke(main, ["run", "--date", "2025-09-12", "--source", str(FEED_DIR), "--scorer", "keywords"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "2025-09-12.html").is_file()


def test_render_rejects_infinite_cost(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    runner.invoke(main, ["run", "--date", "2025-09-12", "--source", str(FEED_DIR), "--scorer", "keywords"])
    path = tmp_path / "out" / "2025-09-12.json"
    data = json.loads(path.read_text())
    data["cost_usd"]["prompt"] = 1e308
    path.write_text(json.dumps(data))
    result = runner.invoke(main, ["render", str(path)])
    assert result.exit_code == EXIT_USAGE
    assert "cost_usd.prompt" in result.output
