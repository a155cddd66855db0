"""Does a node's VCL (with the team's `vcl_include`) compile? `varnishd -C`, before anything
starts, and its error in one line."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from proxies.contract import NodeLaunch
from proxies.varnish import vcl
from proxies.varnish.daemon import program

_POSITION = re.compile(r"^\('(?P<file>[^']*)' Line (?P<line>\d+) Pos (?P<pos>\d+)\)")


def compile_error(stderr: str) -> str:
    """varnishd's multi-line compiler message as one line: what, and where."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if "Message from VCC-compiler:" in lines:
        lines = lines[lines.index("Message from VCC-compiler:") + 1 :]
    what = next((line for line in lines if not line.startswith(("(", "-", "#"))), "")
    where = next((m for line in lines if (m := _POSITION.match(line))), None)
    if where is None:
        return what or "varnishd -C failed"
    return f"{what} (line {where['line']}, column {where['pos']} of {where['file']})"


def check(launch: NodeLaunch) -> str | None:
    """None if the node's VCL compiles, else varnishd's error in one line."""
    with tempfile.TemporaryDirectory(prefix="shieldlab-vcl-") as work:
        source = Path(work) / f"{launch.name}.vcl"
        source.write_text(vcl.render(vcl.plan_for(launch, metrics_port=1)))
        done = subprocess.run(
            [
                program("varnishd"),
                "-C",
                "-j",
                "none",
                "-f",
                str(source),
                "-n",
                str(Path(work) / "n"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    return None if done.returncode == 0 else compile_error(done.stderr)
