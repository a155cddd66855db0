"""The errors a user can see, each with the exit code it ends the command with."""

from __future__ import annotations

import sys
from collections.abc import Callable

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INFRASTRUCTURE = 3


class ShieldlabError(Exception):
    """An error shown to the user as one line, without a traceback."""

    exit_code = EXIT_INFRASTRUCTURE


class BadInput(ShieldlabError):
    """The user's input is wrong: a file, a field, a name. The message says how to fix it."""

    exit_code = EXIT_BAD_INPUT


class InfrastructureError(ShieldlabError):
    """Something the run depends on failed: a binary, a port, a process, an API."""

    exit_code = EXIT_INFRASTRUCTURE


def exit_code_of(body: Callable[[], object]) -> int:
    """Run a `python -m` entry point's body: 0, or the error's one line and its exit code."""
    try:
        body()
    except ShieldlabError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return error.exit_code
    return EXIT_OK
