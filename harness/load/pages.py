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


def package_path(url: str) -> str | None:
    """A file URL's path on the mirror's own POP, or None when it is not a package file."""
    return "/packages/" + url.split("/packages/", 1)[1] if "/packages/" in url else None


def release_url_paths(urls: Any) -> list[str]:
    """The package files an XML-RPC `release_urls` answer lists (bandersnatch 1.3)."""
    if not isinstance(urls, list):
        return []
    found = [package_path(str(u.get("url", ""))) for u in urls if isinstance(u, dict)]
    return [path for path in found if path is not None]


def release_file_paths(page: Any) -> list[str]:
    """Every release file's path (all versions) on the mirror's own POP, from a JSON page."""
    if page.status_code != 200:
        return []
    try:
        releases = json.loads(page.content)["releases"]
    except (ValueError, KeyError, TypeError):
        return []
    found = [package_path(f.get("url", "")) for files in releases.values() for f in files]
    return [path for path in found if path is not None]
