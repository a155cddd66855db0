"""The `shieldlab` command line: one thin function per subcommand (`topology_commands`,
`run_commands`), the grammar in `parser`, and here the one-line errors and exit codes."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from harness.cli.console import err
from harness.cli.parser import build_parser
from harness.errors import EXIT_INFRASTRUCTURE, ShieldlabError


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def write_crash_log(state_dir: Path) -> Path:
    """The full traceback of an unexpected error, where the one-line message can point."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for directory in (state_dir / "logs", Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"shieldlab-crash-{stamp}-{os.getpid()}.log"
            path.write_text(" ".join(sys.argv) + "\n\n" + traceback.format_exc())
            return path
        except OSError:
            continue
    return Path("(no writable place for the log)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` cleans up like Ctrl-C
    # A shell's `cmd &` starts with SIGINT ignored; `kill -INT` must still stop a recording.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return int(args.func(args))
    except ShieldlabError as error:
        if args.debug:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as error:  # noqa: BLE001 - one line and a log, never a bare traceback
        log = write_crash_log(args.state_dir)
        if args.debug:
            traceback.print_exc()
        print(
            f"error: `shieldlab {args.command}` failed unexpectedly: {type(error).__name__}: "
            f"{str(error)[:200]}; full traceback in {log}",
            file=sys.stderr,
        )
        return EXIT_INFRASTRUCTURE
