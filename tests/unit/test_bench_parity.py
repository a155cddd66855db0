import pytest

from harness.bench.parity import Manifest, _load_manifest
from harness.bench.parity_compare import (
    LATENCY_TOLERANCE_MS,
    Agreement,
    Share,
    compare_percentiles,
    compare_shares,
    judge,
    tally,
)
from harness.errors import BadInput
from harness.records.base import write_json_model


def test_an_interval_inside_the_tolerance_is_within_outside_beyond_across_undecided():
    assert judge(-0.01, 0.02, 0.05) is Agreement.WITHIN
    assert judge(0.06, 0.2, 0.05) is Agreement.BEYOND
    assert judge(-0.3, -0.06, 0.05) is Agreement.BEYOND
    assert judge(0.01, 0.09, 0.05) is Agreement.UNDECIDED


def test_shares_are_judged_on_the_interval_of_their_difference():
    same = compare_shares("during", "errors", Share(100, 1000), Share(105, 1000))
    assert same.agreement is Agreement.WITHIN and same.low < 0 < same.high
    apart = compare_shares("during", "errors", Share(100, 1000), Share(400, 1000))
    assert apart.agreement is Agreement.BEYOND and apart.low > 0.05
    few = compare_shares("during", "errors", Share(1, 10), Share(3, 10))
    assert few.agreement is Agreement.UNDECIDED  # ten requests cannot tell
    none = compare_shares("during", "errors", Share(0, 500), Share(0, 500))
    assert none.agreement is Agreement.WITHIN and (none.low, none.high) == (0.0, 0.0)
    missing = compare_shares("during", "hit ratio edge", Share(0, 0), Share(5, 10))
    assert missing.agreement is None and missing.model is None


def test_percentiles_within_a_few_ms_agree_and_far_apart_do_not():
    model = [1.0 + 0.01 * i for i in range(400)]  # 1 to 5 ms
    close = compare_percentiles("before", "p95 pip ms", 95, model, [v + 1.0 for v in model])
    assert close.agreement is Agreement.WITHIN and close.tolerance == LATENCY_TOLERANCE_MS
    slow = [v + 100.0 for v in model]
    far = compare_percentiles("before", "p95 pip ms", 95, model, slow)
    assert far.agreement is Agreement.BEYOND and far.tolerance == pytest.approx(0.25 * far.varnish)
    assert compare_percentiles("before", "p50 x ms", 50, [1.0], model).agreement is None


def test_tally_counts_each_agreement():
    rows = [
        compare_shares("d", "a", Share(100, 1000), Share(105, 1000)),
        compare_shares("d", "b", Share(100, 1000), Share(400, 1000)),
        compare_shares("d", "c", Share(0, 0), Share(1, 2)),
    ]
    assert tally(rows) == {"within": 1, "beyond": 1, "undecided": 0}


def test_kept_runs_of_another_length_are_refused_not_mixed(tmp_path):
    path = tmp_path / "parity.json"
    write_json_model(path, Manifest(duration_s=40.0))
    assert _load_manifest(path, 40.0).duration_s == 40.0
    with pytest.raises(BadInput, match="parity.json: its runs are 40.0 s; asked full-length"):
        _load_manifest(path, None)
    assert _load_manifest(tmp_path / "none.json", None).runs == {}
