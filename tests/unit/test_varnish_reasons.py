"""Why a Varnish fetch failed: the rule table the VCL runs, and Varnish's own FetchError."""

import pytest

from proxies.contract import BackendSettings, FetchFailure
from proxies.varnish.reasons import (
    CONNECT_WINDOW_S,
    RULES,
    FailedFetch,
    derive,
    fetch_error_reason,
    reason_vcl,
    vcl_real,
)

FASTLY = BackendSettings()  # connect 1 s, first byte 15 s, between bytes 10 s


@pytest.mark.parametrize(
    ("fetch", "reason"),
    [
        (FailedFetch(healthy=False, headers=False, elapsed_s=0.0), FetchFailure.UNHEALTHY),
        (FailedFetch(healthy=False, headers=True, elapsed_s=20), FetchFailure.UNHEALTHY),
        (FailedFetch(healthy=True, headers=False, elapsed_s=15.0), FetchFailure.FIRST_BYTE_TIMEOUT),
        (FailedFetch(healthy=True, headers=False, elapsed_s=14.8), FetchFailure.FIRST_BYTE_TIMEOUT),
        (FailedFetch(healthy=True, headers=False, elapsed_s=14.0), FetchFailure.READ_ERROR),
        (FailedFetch(healthy=True, headers=False, elapsed_s=1.0), FetchFailure.CONNECT_TIMEOUT),
        (FailedFetch(healthy=True, headers=False, elapsed_s=1.2), FetchFailure.CONNECT_TIMEOUT),
        (FailedFetch(healthy=True, headers=False, elapsed_s=1.3), FetchFailure.READ_ERROR),
        (FailedFetch(healthy=True, headers=False, elapsed_s=0.001), FetchFailure.READ_ERROR),
        (
            FailedFetch(healthy=True, headers=True, elapsed_s=10.0),
            FetchFailure.BETWEEN_BYTES_TIMEOUT,
        ),
        (FailedFetch(healthy=True, headers=True, elapsed_s=2.0), FetchFailure.READ_ERROR),
    ],
)
def test_the_reason_follows_health_headers_and_time(fetch, reason):
    assert derive(fetch, FASTLY) is reason


def test_the_timeouts_are_the_backends_own():
    edge_to_shield = BackendSettings(between_bytes_timeout_s=60)
    body_10_s = FailedFetch(healthy=True, headers=True, elapsed_s=10.0)
    assert derive(body_10_s, edge_to_shield) is FetchFailure.READ_ERROR
    assert derive(body_10_s.__class__(True, True, 60.0), edge_to_shield) is (
        FetchFailure.BETWEEN_BYTES_TIMEOUT
    )


def test_the_vcl_has_one_branch_per_rule_in_order_with_the_timeouts():
    text = reason_vcl(FASTLY, "")
    branches = [line for line in text.splitlines() if line.startswith(("if", "} elsif"))]
    assert len(branches) == len(RULES)
    reasons = [
        line.split('"reason", "')[1].rstrip('");')
        for line in text.splitlines()
        if "var.set" in line
    ]
    assert reasons == [rule.reason.value for rule in RULES]
    assert ">= 14.7" in branches[3]  # the first-byte timeout, less the timer slack
    assert f"< {0.98 + CONNECT_WINDOW_S:.6g}" in branches[4]
    assert branches[-1] == "} elsif (true) {"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("first byte timeout", FetchFailure.FIRST_BYTE_TIMEOUT),
        ("first byte timeout (reused connection)", FetchFailure.FIRST_BYTE_TIMEOUT),
        ("backend origin_1: busy", FetchFailure.BACKEND_BUSY),
        ("Director fill returned no backend", FetchFailure.UNHEALTHY),
        ("backend shield: unhealthy", FetchFailure.UNHEALTHY),
        ("backend origin_1: fail errno 111 (Connection refused)", FetchFailure.UNHEALTHY),
        ("backend origin_1: fail errno 110 (Connection timed out)", FetchFailure.CONNECT_TIMEOUT),
        ("Resource temporarily unavailable", FetchFailure.BETWEEN_BYTES_TIMEOUT),
        ("HTC eof (-1)", FetchFailure.READ_ERROR),
        ("something new", FetchFailure.READ_ERROR),
    ],
)
def test_varnish_fetch_errors_map_to_the_models_reasons(text, reason):
    assert fetch_error_reason(text) is reason


def test_vcl_reals_have_at_most_three_decimals():
    assert vcl_real(15 / 3600) == "0.004"
    assert vcl_real(14.7) == "14.7" and vcl_real(86_400) == "86400" and vcl_real(0.0001) == "0"
