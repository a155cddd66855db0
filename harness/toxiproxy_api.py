"""A thin client for the Toxiproxy server's HTTP API (2.12), with timeouts and clear errors.

toxiproxy-python 0.1.1 keeps the server address in class globals and has no timeouts or toxic
updates, so the few calls the harness needs are made here with httpx.
"""

from __future__ import annotations

from typing import Any

import httpx

from harness.errors import InfrastructureError


class ToxiproxyApi:
    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as error:
            raise InfrastructureError(
                f"toxiproxy API {self.base_url}: {method} {path} failed: {error}"
            ) from None
        if response.status_code >= 400:
            raise InfrastructureError(
                f"toxiproxy API {self.base_url}: {method} {path}: HTTP {response.status_code}: "
                f"{response.text.strip()}"
            )
        return response.json() if response.content else None

    def version(self) -> str:
        return str(self._call("GET", "/version").get("version", "?"))

    def proxies(self) -> dict[str, Any]:
        return dict(self._call("GET", "/proxies"))

    def create_proxy(self, name: str, listen: str, upstream: str) -> dict[str, Any]:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": True}
        return dict(self._call("POST", "/proxies", body))

    def update_proxy(self, name: str, **fields: Any) -> dict[str, Any]:
        return dict(self._call("PATCH", f"/proxies/{name}", fields))

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def add_toxic(self, proxy: str, toxic: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", f"/proxies/{proxy}/toxics", toxic))

    def remove_toxic(self, proxy: str, toxic: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{toxic}")

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("POST", "/reset")
