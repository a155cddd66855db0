import pytest

from harness.analysis import series as ts
from harness.records.events import EVENT_ADAPTER
from harness.records.samples import Sample
from harness.records.spans import Span, spans_from_events
from tests.unit.run_fixture import record


def rec(t, latency=10.0, **fields):
    return record(t, latency_ms=latency, **fields)


def sample(t_s, node, metric, value):
    return Sample(t_s=t_s, node=node, metric=metric, labels="", value=value)


def test_request_rate_per_class_per_bin():
    records = [rec(0.5), rec(1.5), rec(1.7, traffic="mirror"), rec(3.2, traffic="browser")]
    rates = {s.name: s.values for s in ts.request_rate(records, 4, 2)}
    assert rates == {"pip": [1.0, 0.0], "browser": [0.0, 0.5], "mirror": [0.5, 0.0]}


def test_error_rates_by_status_and_layer_are_shares_of_all_requests():
    records = [
        rec(0.1),
        rec(0.2, status=503, error_node="shield"),
        rec(0.3, status=502, error_node="origin-lb"),
        rec(0.4, status=0, error_node="client"),
    ]
    by_status = {s.name: s.values[0] for s in ts.error_rate_by_status(records, 1, 1)}
    assert by_status == {"502": 0.25, "503": 0.25, "504": 0.0, "client": 0.25}
    by_layer = {s.name: s.values[0] for s in ts.error_rate_by_layer(records, 1, 1)}
    assert by_layer["shield"] == 0.25 and by_layer["origin-lb"] == 0.25 and by_layer["edge"] == 0.0
    assert ts.error_rate_by_status([], 1, 1)[0].values == [None]  # no requests: no data, not 0


def test_latency_percentiles_are_exact_per_bin():
    records = [rec(0.5, latency=float(v)) for v in range(1, 101)]
    lines = {s.name: s.values[0] for s in ts.latency_percentiles(records, 1, 1)["pip"]}
    assert lines["p50"] == pytest.approx(50.5)
    assert lines["p99"] == pytest.approx(99.01)


def test_hit_ratio_per_layer():
    records = [
        rec(0.1, x_cache="MISS, HIT"),
        rec(0.2, x_cache="HIT, MISS"),
        rec(0.3, x_cache="MISS, MISS"),
    ]
    ratios = {s.name: s.values[0] for s in ts.hit_ratio(records, 1, 1)}
    assert ratios["edge"] == pytest.approx(1 / 3) and ratios["shield"] == pytest.approx(1 / 3)


def test_gauges_and_queue_wait_from_samples():
    samples = [
        sample(0.5, "origin", "shieldlab_origin_busy_slots", 4),
        sample(0.9, "origin", "shieldlab_origin_busy_slots", 8),
        sample(1.5, "shield", "shieldlab_origin_busy_slots", 99),
    ]
    assert ts.gauge(samples, "origin", "shieldlab_origin_busy_slots", 2, 1) == [6.0, None]
    waits = [
        sample(0.0, "origin", "shieldlab_origin_queue_wait_seconds_sum", 0.0),
        sample(0.0, "origin", "shieldlab_origin_queue_wait_seconds_count", 0.0),
        sample(1.0, "origin", "shieldlab_origin_queue_wait_seconds_sum", 2.0),
        sample(1.0, "origin", "shieldlab_origin_queue_wait_seconds_count", 4.0),
    ]
    assert ts.mean_queue_wait_ms(waits, 2, 1) == [None, 500.0]


def test_spans_come_from_the_events_as_applied():
    latency = {
        "kind": "latency",
        "at": 20,
        "until": 75,
        "link": "shield->origin",
        "latency_ms": 2000,
    }
    workers = {"kind": "origin_workers", "at": 45, "worker_slots": 64}
    down = {"kind": "down", "at": 80, "link": "edge-iad->shield"}
    lines = [
        {
            "event": "fault_applied",
            "index": 0,
            "step": latency,
            "links": ["shield->origin"],
            "t_s": 20.1,
        },
        {"event": "action", "index": 1, "step": workers, "t_s": 45.0},
        {
            "event": "release_published",
            "name": "x",
            "version": "1.0",
            "serial": 9,
            "surrogate_key": "pkg~x",
            "t_s": 46.0,
        },
        {"event": "fault_removed", "index": 0, "step": latency, "t_s": 75.2},
        {
            "event": "fault_applied",
            "index": 2,
            "step": down,
            "links": ["edge-iad->shield"],
            "t_s": 80.0,
        },
    ]
    events = [EVENT_ADAPTER.validate_python(line) for line in lines]
    assert spans_from_events(events, 90) == [
        Span("latency 2000 ms shield->origin", 20.1, 75.2),
        Span("workers=64", 45.0, 45.0),
        Span("down edge-iad->shield", 80.0, 90),
    ]


def test_loss_per_bin_comes_from_counter_deltas_beside_the_asked_share():
    def counter(t, count, value, direction="upstream"):
        labels = f"count={count};direction={direction};link=shield->origin"
        return Sample(
            t_s=t, node="kernel", metric="shieldlab_loss_packets_total", labels=labels, value=value
        )

    samples = []
    for t, seen, dropped in ((1.0, 0, 0), (2.0, 100, 20), (3.0, 300, 50)):
        samples += [counter(t, "seen", seen), counter(t, "dropped", dropped)]
    samples += [counter(2.0, "seen", 100, "downstream"), counter(2.0, "dropped", 0, "downstream")]
    loss = {"kind": "loss", "at": 1, "until": 3.5, "link": "shield->origin", "probability": 0.2}
    events = [
        EVENT_ADAPTER.validate_python(
            {
                "event": "fault_applied",
                "index": 0,
                "step": loss,
                "links": ["shield->origin"],
                "t_s": 1.0,
            }
        ),
        EVENT_ADAPTER.validate_python(
            {"event": "fault_removed", "index": 0, "step": loss, "t_s": 3.5}
        ),
    ]
    dropped, asked = ts.loss_fractions(samples, events, 5, 1)
    assert dropped.name == "shield->origin dropped"
    # second 2: 100 + 100 packets (both directions), 20 dropped; second 3: totals 300 and 50
    assert dropped.values[:4] == [None, None, pytest.approx(20 / 200), pytest.approx(30 / 100)]
    assert asked.values == [None, 0.2, 0.2, 0.2, None]
    assert ts.loss_fractions([], events, 5, 1) == []
