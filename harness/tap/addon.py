"""The shieldlab tap: a mitmdump addon, and the only module that imports mitmproxy.

mitmdump runs it in reverse mode in front of one node, on one link (`harness.topology.taps`
starts it). It carries out the http_* faults the harness puts on its control path, writes the
port it listens on to a ready file, and (for `shieldlab record`) mitmdump saves every flow.
Run over a saved recording (`mitmdump -n -r FILE`), it exports each exchange as a JSON line
for `shieldlab workload` (read by `harness.load.workload.Exchange`).
"""

from __future__ import annotations

import asyncio
import json
import sys
import xmlrpc.client
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the harness's pure rules

from mitmproxy import ctx, http  # noqa: E402

from harness.tap.rules import (  # noqa: E402
    CONTROL_PATH,
    RULES_PATH,
    SERIAL_HEADER,
    Rule,
    RuleBook,
)

_ABORT = "shieldlab_abort"


def _json_response(status: int, body: dict[str, Any]) -> http.Response:
    return http.Response.make(
        status, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )


def _first_half(total: int):  # type: ignore[no-untyped-def]
    """A stream filter that lets the first half of a body through and drops the rest."""
    budget = total // 2

    def cut(chunk: bytes) -> bytes:
        nonlocal budget
        keep, budget = chunk[: max(budget, 0)], budget - len(chunk)
        return keep

    return cut


class Tap:
    def __init__(self) -> None:
        self.book = RuleBook()

    def load(self, loader: Any) -> None:
        loader.add_option(
            "shieldlab_ready_file", str, "", "write the port listened on here once listening"
        )
        loader.add_option(
            "shieldlab_export", str, "", "append each exchange read here as a JSON line"
        )

    def running(self) -> None:
        if ctx.options.shieldlab_ready_file:
            asyncio.get_running_loop().create_task(self._announce())

    async def _announce(self) -> None:
        proxyserver: Any = ctx.master.addons.get("proxyserver")
        for _ in range(500):
            addresses = proxyserver.listen_addrs()
            if addresses:
                ready = Path(ctx.options.shieldlab_ready_file)
                partial = ready.with_suffix(".partial")
                partial.write_text(json.dumps({"port": addresses[0][1]}))
                partial.rename(ready)
                return
            await asyncio.sleep(0.01)

    async def request(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        if request.path.startswith(CONTROL_PATH):
            flow.response = self._control(request)
            return
        decision = self.book.decide(request.method, request.path, request.headers)
        if decision.delay_s > 0:
            await asyncio.sleep(decision.delay_s)
        if decision.answer is not None:
            rule = decision.answer
            body = f"{rule.status} injected by the shieldlab tap ({rule.name})\n".encode()
            headers = {"Content-Type": "text/plain", **dict(rule.answer_headers)}
            flow.response = http.Response.make(rule.status, body, headers)
        elif decision.abort:
            flow.metadata[_ABORT] = True

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(_ABORT) and flow.response is not None:
            length = int(flow.response.headers.get("content-length", "0") or 0)
            flow.response.stream = _first_half(length)

    def response(self, flow: http.HTTPFlow) -> None:
        if ctx.options.shieldlab_export:
            _export(flow, ctx.options.shieldlab_export)
        elif flow.metadata.get(_ABORT):
            flow.kill()  # headers and half the body were sent: the connection now closes

    def error(self, flow: http.HTTPFlow) -> None:
        if ctx.options.shieldlab_export:
            _export(flow, ctx.options.shieldlab_export)

    def _control(self, request: http.Request) -> http.Response:
        path = request.path.split("?", 1)[0]
        if request.method == "GET" and path == CONTROL_PATH:
            return _json_response(200, {"rules": self.book.counts()})
        if path.startswith(RULES_PATH):
            name = path.removeprefix(RULES_PATH)
            if request.method == "PUT":
                try:
                    rule = Rule.from_json(json.loads(request.content or b"{}"))
                except (TypeError, ValueError) as error:
                    return _json_response(400, {"error": str(error)})
                if rule.name != name:
                    return _json_response(400, {"error": f"rule {rule.name!r} sent to {name!r}"})
                self.book.put(rule)
                return _json_response(200, {"put": name})
            if request.method == "DELETE":
                removed = self.book.remove(name)
                return _json_response(200 if removed else 404, {"removed": name})
        return _json_response(404, {"error": f"no such control call: {request.method} {path}"})


def _export(flow: http.HTTPFlow, path: str) -> None:
    request, response = flow.request, flow.response
    rpc, params = None, []
    if request.method == "POST" and request.content:
        try:
            loaded, rpc = xmlrpc.client.loads(request.content)
            params = [p for p in loaded if isinstance(p, str | int | float | bool)]
        except Exception:  # noqa: BLE001 - not XML-RPC: exported without a method
            rpc = None
    serial = response.headers.get(SERIAL_HEADER) if response else None
    ended = response.timestamp_end if response and response.timestamp_end else None
    exchange = {
        "start_s": request.timestamp_start,
        "end_s": ended or request.timestamp_end or request.timestamp_start,
        "method": request.method,
        "path": request.path,
        "status": response.status_code if response else 0,
        "user_agent": request.headers.get("User-Agent", ""),
        "accept": request.headers.get("Accept"),
        "rpc": rpc,
        "rpc_params": params,
        "serial": int(serial) if serial and serial.isdigit() else None,
    }
    with open(path, "a") as out:
        out.write(json.dumps(exchange) + "\n")


addons = [Tap()]
