"""The live progress line of a run: phase, elapsed / total, request rate, error rate."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from harness.run.runner import Progress


def render(progress: Progress) -> Text:
    done = min(1.0, progress.elapsed_s / progress.total_s) if progress.total_s else 0.0
    live = progress.live
    bar = "#" * round(done * 20)
    return Text(
        f"{progress.phase[:22]:<22} [{bar:<20}] {progress.elapsed_s:4.0f}/{progress.total_s:.0f} s "
        f"{live.requests_per_s:6.1f} req/s err {live.error_ratio * 100:4.1f}%"
    )


class LiveProgress:
    def __init__(self, console: Console) -> None:
        self._live = Live(Text("starting"), console=console, refresh_per_second=4, transient=True)

    def __enter__(self) -> LiveProgress:
        self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.__exit__(kind, error, tb)

    def update(self, progress: Progress) -> None:
        self._live.update(render(progress))
