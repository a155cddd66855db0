import pytest

from harness.bench.parity import Manifest, _load_manifest
from harness.bench.parity_compare import (
    LATENCY_TOLERANCE_MS,
    Agreement,
    compare_percentiles,
    judge,
    phase_rows,
    tally,
)
from harness.errors import BadInput
from harness.records.base import write_json_model
from harness.records.request import RequestRecord


def record(
    i: int, per_s: int, status: int = 200, latency_ms: float = 2.0, x_cache: str = "MISS, HIT"
) -> RequestRecord:
    return RequestRecord.observed(
        intended_s=i / per_s, start_s=i / per_s, traffic="pip", endpoint="simple_project",
        method="GET", status=status, latency_ms=latency_ms, bytes=100, pop="iad",
        served_by="shield, edge-iad", x_cache=x_cache,
        error_node="shield" if status == 503 else "",
        error_reason="first byte timeout" if status == 503 else "",
    )  # fmt: skip


def run(
    n: int, per_s: int, error_every: int | None, latency_ms: float = 2.0
) -> list[RequestRecord]:
    """`n` requests at `per_s` a second, every `error_every`th a shield 503."""
    return [
        record(
            i,
            per_s,
            503 if error_every and i % error_every == 0 else 200,
            latency_ms + (i % 7) * 0.1,
        )
        for i in range(n)
    ]


def row(rows, metric):
    return next(r for r in rows if r.metric == metric)


def test_an_interval_inside_the_tolerance_is_within_outside_beyond_across_undecided():
    assert judge(-0.01, 0.02, 0.05) is Agreement.WITHIN
    assert judge(0.06, 0.2, 0.05) is Agreement.BEYOND
    assert judge(-0.3, -0.06, 0.05) is Agreement.BEYOND
    assert judge(0.01, 0.09, 0.05) is Agreement.UNDECIDED


def test_shares_agree_when_close_and_differ_when_far_judged_on_their_interval():
    same = phase_rows("during", run(2000, 20, 10), run(2000, 20, 10))
    errors = row(same, "errors")
    assert errors.model == pytest.approx(0.1) and errors.agreement is Agreement.WITHIN
    assert errors.low <= 0 <= errors.high
    assert row(same, "errors at shield").agreement is Agreement.WITHIN
    assert row(same, "errors for first byte timeout").agreement is Agreement.WITHIN
    assert row(same, "hit ratio edge").model == pytest.approx(1.0)
    apart = phase_rows("during", run(2000, 20, 10), run(2000, 20, 2))
    errors = row(apart, "errors")
    assert errors.varnish == pytest.approx(0.5) and errors.agreement is Agreement.BEYOND
    assert errors.low > 0.05


def test_a_few_seconds_of_requests_cannot_tell_a_small_difference():
    few = row(phase_rows("during", run(40, 10, 10), run(40, 10, 6)), "errors")
    assert few.agreement is Agreement.UNDECIDED


def test_percentiles_within_a_few_ms_agree_and_far_apart_do_not():
    close = compare_percentiles(
        "before", "p95 pip ms", 0.95, run(2000, 20, None), run(2000, 20, None, 3.0)
    )
    assert close.agreement is Agreement.WITHIN and close.tolerance == LATENCY_TOLERANCE_MS
    far = compare_percentiles(
        "before", "p95 pip ms", 0.95, run(2000, 20, None), run(2000, 20, None, 100.0)
    )
    assert far.agreement is Agreement.BEYOND and far.tolerance == pytest.approx(0.25 * far.varnish)
    assert compare_percentiles("before", "p50 x ms", 0.5, [], run(10, 10, None)).agreement is None


def test_tally_counts_each_agreement():
    rows = phase_rows("during", run(2000, 20, 10), run(2000, 20, 2))
    counts = tally(rows)
    assert counts["beyond"] >= 3 and sum(counts.values()) == sum(
        r.agreement is not None for r in rows
    )


def test_kept_runs_of_another_length_are_refused_not_mixed(tmp_path):
    path = tmp_path / "parity.json"
    write_json_model(path, Manifest(duration_s=40.0))
    assert _load_manifest(path, 40.0).duration_s == 40.0
    with pytest.raises(BadInput, match="parity.json: its runs are 40 s long; asked: full-length"):
        _load_manifest(path, None)
    assert _load_manifest(tmp_path / "none.json", None).runs == {}
