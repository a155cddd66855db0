"""The real pip as a client of the lab: what it sends, and how it is run against one edge."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from proxies import contract

# What pip sends for index pages (PEP 691), so the demo asks for the object pip was given.
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


def pip_install(
    index_url: str, project: str, target: Path, *more: str
) -> subprocess.CompletedProcess[str]:
    """The real pip, from this environment, with the edge as its only index."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_")}
    env["NO_PROXY"] = "*"
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--no-input",
        "--index-url",
        index_url,
        "--target",
        str(target),
        project,
        *more,
    ]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


def first_project(client: httpx.Client, base_url: str) -> str:
    page = client.get(base_url + "/simple/", headers={"Accept": contract.PEP691_JSON})
    page.raise_for_status()
    return str(page.json()["projects"][0]["name"])
