"""Scoring progress on stderr: a rich progress bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class BarProgress:
    """A progress bar: papers scored out of the candidates, requests in flight, spend so far."""

    def __init__(self, stream: TextIO):
        self._bar = Progress(
            TextColumn("scoring"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("papers · {task.fields[in_flight]} in flight · {task.fields[spent]}"),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._task = None

    def start(self, total: int, cached: int) -> None:
        self._bar.start()
        self._task = self._bar.add_task("scoring", total=total, completed=cached, in_flight=0, spent="")

    def update(self, papers_done: int, in_flight: int, spent_usd: float | None) -> None:
        if self._task is not None:
            spent = f"${spent_usd:.4f} spent" if spent_usd is not None else "cost n/a"
            self._bar.update(self._task, completed=papers_done, in_flight=in_flight, spent=spent)

    def finish(self) -> None:
        self._bar.stop()


class LineProgress:
    """Plain progress lines for logs and cron mail, at most one every `interval` seconds."""

    def __init__(self, stream: TextIO, interval: float = 5.0):
        self.stream = stream
        self.interval = interval
        self._total = 0
        self._last_line = 0.0
        self._last_text = ""

    def start(self, total: int, cached: int) -> None:
        self._total = total
        if cached:
            self._write(f"scoring: {cached} of {total} papers scored from the cache")

    def update(self, papers_done: int, in_flight: int, spent_usd: float | None) -> None:
        now = time.monotonic()
        if now - self._last_line < self.interval and in_flight:
            return
        spent = f", ${spent_usd:.4f} spent" if spent_usd is not None else ""
        self._write(f"scoring: {papers_done} of {self._total} papers, in flight: {in_flight}{spent}")
        self._last_line = now

    def finish(self) -> None:
        pass

    def _write(self, text: str) -> None:
        if text != self._last_text:
            print(text, file=self.stream, flush=True)
            self._last_text = text


def make_progress(verbose: int, stream: TextIO | None = None) -> BarProgress | LineProgress:
    stream = stream or sys.stderr
    if stream.isatty() and verbose < 2:
        return BarProgress(stream)
    return LineProgress(stream)
