import pytest

from harness.analysis.badness import path_of
from harness.analysis.diagnose import diagnose, diagnose_records
from tests.unit.run_fixture import make_records, record, write_run

QUIET = [(float(t), 2.0, 16.0) for t in range(60)]


def test_paths_follow_x_cache():
    def rec(x_cache, method="GET"):
        return record(0, x_cache=x_cache, method=method)

    assert path_of(rec("MISS, HIT")) == "hit"
    assert path_of(rec("HIT, MISS")) == "shield"
    assert path_of(rec("MISS, MISS")) == "origin"
    assert path_of(rec("PASS", "POST")) == "pass"
    assert path_of(rec("")) == "failed"
    assert path_of(rec("HIT-COLLAPSED, MISS")) == "collapsed"  # waited at the shield on a fetch
    assert path_of(rec("MISS, HIT-COLLAPSED")) == "collapsed"


def test_a_clean_run_has_no_fault():
    result = diagnose_records(make_records(60, None, None), QUIET)
    assert result.segment is None
    assert result.text().startswith("no fault found")


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("shield-origin", "shield->origin"),
        ("edge-iad-shield", "edge-iad->shield"),
        ("edge-iad-origin", "edge-iad->origin"),
        ("client-edge-iad", "client->edge-iad"),
    ],
)
def test_each_faulty_segment_is_named_with_its_onset(segment, expected):
    records = make_records(60, (20, 40), segment, seed=3)
    result = diagnose_records(records, QUIET)
    assert result.segment == expected, result.ranking
    assert result.onset_s is not None and 16 <= result.onset_s <= 24
    assert result.confidence > 0.5
    assert result.evidence


def test_an_overloaded_origin_is_told_from_a_slow_link_by_its_saturation():
    records = make_records(60, (20, 40), "origin", seed=5)
    origin = [(float(t), 16.0 if 20 <= t < 40 else 3.0, 16.0) for t in range(60)]
    result = diagnose_records(records, origin)
    assert result.segment == "origin capacity"
    assert any("balancer" in line for line in result.evidence)


def test_diagnose_reads_only_records_and_samples(tmp_path):
    run = write_run(tmp_path / "run", "anything", make_records(60, (20, 40), "shield-origin"), 60)
    (run / "events.jsonl").unlink()
    (run / "scenario.yaml").unlink()
    assert diagnose(run).segment == "shield->origin"


def test_a_brief_overload_does_not_hide_a_long_link_fault():
    records = make_records(60, (15, 55), "shield-origin", seed=7)
    origin = [(float(t), 16.0 if 10 <= t < 14 else 3.0, 16.0) for t in range(60)]
    result = diagnose_records(records, origin)
    assert result.segment == "shield->origin"


def _slow_tail(records, window, share, add_ms, crosses):
    """Every n-th request that crosses the segment in `window` waits `add_ms` more (a lost
    segment waiting for TCP's retransmission timer): medians stay where they were."""
    every = round(1 / share)
    changed, seen = [], 0
    for r in records:
        if window[0] <= r.intended_s < window[1] and crosses(r):
            seen += 1
            if seen % every == 0:
                r = r.model_copy(update={"latency_ms": r.latency_ms + add_ms})
        changed.append(r)
    return changed


def test_a_fault_that_shows_only_in_the_tail_is_named():
    records = make_records(60, None, None, seed=11, rate_per_s=40)
    lossy = _slow_tail(records, (20, 44), 0.12, 600, lambda r: path_of(r) == "origin")
    result = diagnose_records(lossy, QUIET)
    assert result.segment == "shield->origin", result.ranking
    assert result.onset_s is not None and 14 <= result.onset_s <= 24


def test_a_path_always_slow_in_the_tail_is_no_fault():
    records = make_records(60, None, None, seed=11, rate_per_s=40)
    always = _slow_tail(records, (0, 60), 0.12, 600, lambda r: path_of(r) == "origin")
    assert diagnose_records(always, QUIET).segment is None
