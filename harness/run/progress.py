"""The progress of a run: a live line in a terminal, a plain line about every 10 s in a log.

A CI log is not a terminal: a live display shows nothing there, so the same facts (phase,
elapsed / total, req/s, error %) go out as plain lines instead.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from harness.run.context import Progress

PLAIN_EVERY_S = 10.0


def minutes(seconds: float) -> str:
    """`28 min 33 s`: how long a long job took or will take, as its progress lines say it."""
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def line(progress: Progress) -> str:
    live = progress.live
    return (
        f"{progress.phase}: {progress.elapsed_s:.0f}/{progress.total_s:.0f} s, "
        f"{live.requests_per_s:.1f} req/s, errors {live.error_ratio * 100:.1f}%"
    )


def render(progress: Progress) -> Text:
    done = min(1.0, progress.elapsed_s / progress.total_s) if progress.total_s else 0.0
    live = progress.live
    bar = "#" * round(done * 20)
    return Text(
        f"{progress.phase[:48]:<48} [{bar:<20}] {progress.elapsed_s:4.0f}/{progress.total_s:.0f} s "
        f"{live.requests_per_s:6.1f} req/s err {live.error_ratio * 100:4.1f}%"
    )


class LiveProgress:
    """`with LiveProgress(console, prefix) as live: ... live.update(progress)`."""

    def __init__(self, console: Console, prefix: str = "") -> None:
        self.console = console
        self.prefix = prefix
        self.interactive = console.is_terminal
        self._live = Live(Text("starting"), console=console, refresh_per_second=4, transient=True)
        self._last_plain = -PLAIN_EVERY_S
        self._last_phase = ""

    def __enter__(self) -> LiveProgress:
        if self.interactive:
            self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.interactive:
            self._live.__exit__(kind, error, tb)

    def update(self, progress: Progress) -> None:
        if self.prefix:
            progress = Progress(
                f"{self.prefix}{progress.phase}",
                progress.elapsed_s,
                progress.total_s,
                progress.live,
            )
        if self.interactive:
            self._live.update(render(progress))
            return
        now = time.monotonic()
        if now - self._last_plain >= PLAIN_EVERY_S or progress.phase != self._last_phase:
            self.console.print(line(progress), highlight=False, markup=False, soft_wrap=True)
            self._last_plain, self._last_phase = now, progress.phase
