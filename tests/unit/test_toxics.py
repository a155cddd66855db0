import pytest

from harness.faults.toxics import AddToxic, DisableProxy, toxiproxy_change
from harness.scenario.steps import BandwidthFault, DownFault, LatencyFault, ResetFault, StallFault


def test_latency_becomes_a_latency_toxic_on_the_stream_asked_for():
    fault = LatencyFault(
        kind="latency",
        at=1,
        link="shield->origin",
        latency_ms=2000,
        jitter_ms=150.4,
        stream="upstream",
        toxicity=0.5,
    )
    change = toxiproxy_change(fault, "shield_to_origin", "step3")
    assert change == AddToxic(
        "shield_to_origin",
        {
            "name": "step3",
            "type": "latency",
            "stream": "upstream",
            "toxicity": 0.5,
            "attributes": {"latency": 2000, "jitter": 150},
        },
    )
    assert change.toxic_name == "step3"


def test_bandwidth_in_kilobytes_per_second():
    change = toxiproxy_change(
        BandwidthFault(kind="bandwidth", at=0, link="x", rate_kbps=64), "p", "n"
    )
    assert isinstance(change, AddToxic)
    assert change.body["type"] == "bandwidth" and change.body["attributes"] == {"rate": 64}
    assert change.body["stream"] == "downstream"


def test_a_stall_is_bandwidth_zero_not_a_timeout_toxic():
    # Removing a `timeout` toxic closes every connection on the proxy; bandwidth 0 heals.
    change = toxiproxy_change(StallFault(kind="stall", at=0, link="x", toxicity=0.25), "p", "n")
    assert isinstance(change, AddToxic)
    assert change.body["type"] == "bandwidth"
    assert change.body["attributes"] == {"rate": 0}
    assert change.body["toxicity"] == 0.25


def test_reset_is_reset_peer_with_its_delay():
    change = toxiproxy_change(ResetFault(kind="reset", at=0, link="x", after_ms=500), "p", "n")
    assert isinstance(change, AddToxic)
    assert change.body["type"] == "reset_peer" and change.body["attributes"] == {"timeout": 500}


def test_down_disables_the_proxy():
    assert toxiproxy_change(DownFault(kind="down", at=0, link="x"), "p", "n") == DisableProxy("p")


def test_latency_must_not_be_negative():
    with pytest.raises(ValueError):
        LatencyFault(kind="latency", at=0, link="x", latency_ms=-1)
