"""Locust as a master with worker processes: every worker's records reach requests.csv."""

import yaml

from harness.records import files
from harness.records.summary import read_summary
from tests.integration.conftest import shieldlab_run


def test_two_locust_workers_share_the_rate_and_both_records_reach_requests_csv(tmp_path):
    scenario = {
        "name": "two-workers",
        "description": "d",
        "hypothesis": "h",
        "topology": {"time_scale": 60},
        "load": {
            "duration_s": 20,
            "processes": 2,
            "pip": {"installs_per_s": 20},
            "browser": {"visits_per_s": 5},
            "mirrors": [{"name": "a", "count": 2, "workers": 3}, {"name": "b", "count": 1}],
            "mixes": [{"mix": "pip-install", "sessions_per_s": 4}],
        },
    }
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(scenario))
    run_dir = shieldlab_run(tmp_path, str(tmp_path / "two.yaml"))
    assert (run_dir / "locust-worker0.log").exists() and (run_dir / "locust-worker1.log").exists()
    assert not list(run_dir.glob(f"{files.REQUESTS_FILE}.part-*"))  # joined, then removed
    check = read_summary(run_dir / files.SUMMARY_FILE).load_generator
    for name in ("pip", "browser", "pip-install"):
        load = check.classes[name]
        # Each worker carries half the rate: one worker's records alone would be about half.
        assert load.started_flows >= 0.8 * load.asked_flows, (name, load)
        assert load.start_lag_p99_ms < 100, (name, load)
    assert check.kept_up
