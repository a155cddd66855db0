"""Where the command line writes: results to stdout, progress and messages to stderr."""

from __future__ import annotations

from rich.console import Console

out = Console(width=max(150, Console().width), soft_wrap=True)  # tables stay readable in logs
err = Console(stderr=True, soft_wrap=True)  # a path in a message is never cut in two
