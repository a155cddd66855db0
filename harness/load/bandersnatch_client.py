"""The real bandersnatch, run as a subprocess against an edge of a running topology.

The lab's mock must satisfy the mirroring client PyPI's mirrors run; this module writes a
bandersnatch configuration (its defaults, except the master, plain HTTP on the loopback, and
an allowlist of a few projects) and runs one `bandersnatch mirror` with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MIRROR_TIMEOUT_S = 300.0


def bandersnatch_config(master_url: str, directory: Path, projects: list[str]) -> str:
    """bandersnatch's example settings, pointed at `master_url`, limited to `projects`."""
    packages = "\n".join(f"    {name}" for name in projects)
    return f"""[mirror]
directory = {directory}
master = {master_url}
allow-non-https = true
json = true
release-files = true
cleanup = false
timeout = 10
global-timeout = 1800
workers = 3
hash-index = false
simple-format = ALL
stop-on-error = true
storage-backend = filesystem
verifiers = 3
compare-method = hash

[plugins]
enabled =
    allowlist_project

[allowlist]
packages =
{packages}
"""


def bandersnatch_mirror(
    master_url: str, directory: Path, projects: list[str], timeout_s: float = MIRROR_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """One `bandersnatch mirror` run from this environment, with `master_url` as its master."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory.parent / f"{directory.name}.conf"
    config.write_text(bandersnatch_config(master_url, directory, projects))
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    argv = [sys.executable, "-m", "bandersnatch", "--config", str(config), "mirror"]
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=timeout_s, check=False
    )
