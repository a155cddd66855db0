import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from proxies.cdn.upstream import Phase, failure_for
from proxies.contract import FetchFailure

KEY = ConnectionKey("127.0.0.1", 1, False, True, None, None, None)


@pytest.mark.parametrize(
    ("error", "phase", "reason"),
    [
        (TimeoutError(), Phase.FIRST_BYTE, FetchFailure.FIRST_BYTE_TIMEOUT),
        (TimeoutError(), Phase.BODY, FetchFailure.BETWEEN_BYTES_TIMEOUT),
        (TimeoutError(), Phase.CONNECT, FetchFailure.CONNECT_TIMEOUT),
        (aiohttp.ConnectionTimeoutError(), Phase.FIRST_BYTE, FetchFailure.CONNECT_TIMEOUT),
        (
            aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "refused")),
            Phase.FIRST_BYTE,
            FetchFailure.UNHEALTHY,
        ),
        (aiohttp.ServerDisconnectedError(), Phase.FIRST_BYTE, FetchFailure.READ_ERROR),
        (aiohttp.ClientPayloadError("truncated"), Phase.BODY, FetchFailure.READ_ERROR),
        (ConnectionResetError(104, "reset"), Phase.BODY, FetchFailure.READ_ERROR),
    ],
)
def test_failures_map_to_the_cdns_reason_text(error, phase, reason):
    assert failure_for(error, phase) is reason


def test_reason_texts_are_fastlys():
    assert FetchFailure.FIRST_BYTE_TIMEOUT.value == "first byte timeout"
    assert FetchFailure.CONNECT_TIMEOUT.value == "Connection timed out"
    assert FetchFailure.READ_ERROR.value == "backend read error"
    assert FetchFailure.UNHEALTHY.value == "All backends failed or unhealthy"
