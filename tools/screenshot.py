"""Take the docs screenshot of the HTML digest for the 2025-09-12 example announcement.

Runs `paperdigest run` offline (keyword scorer, saved feed in examples/2025-09-12) in a
temporary folder, reads the digest back from its JSON, renders the HTML page and saves a
headless-Chromium screenshot, by default to docs/screenshot-2025-09-12.png.

Usage: python tools/screenshot.py [--output PATH] [--height PIXELS] [--chromium PATH]

The digest JSON has no abstracts, so they are filled in from the same saved feed, and the
source is shown relative to the repository. Chromium runs with every host name lookup
failing, and the page's Content-Security-Policy lets it load nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from paperdigest.arxiv.rss import parse_feed
from paperdigest.arxiv.source import feed_files
from paperdigest.digest_io import load_digest_json
from paperdigest.models import Digest
from paperdigest.render_html import render_html

REPO = Path(__file__).resolve().parents[1]
DATE = "2025-09-12"
EXAMPLE_SOURCE = REPO / "examples" / DATE
CONFIG = REPO / "config.toml"
DEFAULT_OUTPUT = REPO / "docs" / f"screenshot-{DATE}.png"
WIDTH = 1280
TIMEOUT_SECONDS = 120


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="PNG file to write")
    parser.add_argument("--height", type=int, default=2400, help="window height in pixels (the width is 1280)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="paperdigest-screenshot-") as temp:
        work = Path(temp)
        digest = build_example_digest(work)
        page = work / f"{DATE}.html"
        page.write_text(render_html(digest), encoding="utf-8")
        options.output.parent.mkdir(parents=True, exist_ok=True)
        take_screenshot(options.chromium, page, options.output.resolve(), options.height, work / "profile")

    print(f"wrote {options.output} ({options.output.stat().st_size:,} bytes)")
    return 0


def build_example_digest(work: Path) -> Digest:
    """Run the CLI offline in `work` and load the digest it wrote, abstracts filled in."""
    out = work / "out"
    command = [
        sys.executable, "-m", "paperdigest", "run",
        "--date", DATE,
        "--source", str(EXAMPLE_SOURCE),
        "--scorer", "keywords",
        "--no-cache",
        "--config", str(CONFIG),
        "--out", str(out),
    ]  # fmt: skip
    subprocess.run(command, cwd=work, check=True, timeout=TIMEOUT_SECONDS)

    json_path = out / f"{DATE}.json"
    digest = load_digest_json(json_path.read_text(encoding="utf-8"), str(json_path))

    abstracts = {}
    for path in feed_files(EXAMPLE_SOURCE):
        for paper in parse_feed(path.read_bytes(), str(path)).papers:
            abstracts.setdefault(paper.id, paper.abstract)
    results = tuple(
        dataclasses.replace(result, paper=dataclasses.replace(result.paper, abstract=abstracts.get(result.paper.id, "")))
        for result in digest.results
    )
    # The run recorded an absolute path on this machine, but the docs show the repository path.
    return dataclasses.replace(digest, results=results, source=str(EXAMPLE_SOURCE.relative_to(REPO)))


def take_screenshot(chromium: str, page: Path, output: Path, height: int, profile: Path) -> None:
    """Save a WIDTH x height PNG of `page`, and kill Chromium's process group if it times out."""
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{height}",
        f"--screenshot={output}",
        page.as_uri(),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise SystemExit(f"Chromium timed out after {TIMEOUT_SECONDS} s, so no screenshot was written") from None
    if process.returncode != 0 or not output.exists():
        raise SystemExit(f"Chromium failed with exit code {process.returncode}:\n{stderr}")


if __name__ == "__main__":
    sys.exit(main())
