"""What the simulated clients read from the pages they fetch: the file paths listed. Pure."""

from __future__ import annotations

import json
import re
from typing import Any

from proxies import contract

_HTML_LINK = re.compile(r'href="(?:\.\./\.\.)?(/packages/[^"#]+)')


def simple_page_file_paths(page: Any) -> list[str]:
    """The file paths a simple page lists (PEP 691 JSON or HTML), oldest first."""
    content_type = (page.headers or {}).get("Content-Type", "")
    if contract.PEP691_JSON in content_type:
        urls = [f["url"] for f in json.loads(page.content)["files"]]
        return [u[5:] if u.startswith("../..") else u for u in urls]
    return _HTML_LINK.findall(page.content.decode(errors="replace"))


def release_file_paths(page: Any) -> list[str]:
    """Every release file's path (all versions) on the mirror's own POP, from a JSON page."""
    if page.status_code != 200:
        return []
    try:
        releases = json.loads(page.content)["releases"]
    except (ValueError, KeyError, TypeError):
        return []
    return [
        "/packages/" + f["url"].split("/packages/", 1)[1]
        for files in releases.values()
        for f in files
        if "/packages/" in f.get("url", "")
    ]
