import re

from harness.analysis.compare import comparison_table, multiples, write_comparison
from harness.analysis.report import panel_specs, write_report
from harness.records.run_data import load_run
from tests.unit.run_fixture import make_records, write_run

FAULT = [{"kind": "latency", "at": 20, "until": 40, "link": "shield->origin", "latency_ms": 20000}]


def fault_run(tmp_path, name="shield-origin-latency"):
    records = make_records(60, (20, 40), "shield-origin")
    return write_run(tmp_path / name, name, records, 60, FAULT)


def test_panel_data_carries_the_fault(tmp_path):
    run = load_run(fault_run(tmp_path))
    specs = {spec.key: spec for spec in panel_specs(run)}
    assert set(specs) == {
        "requests",
        "errors_status",
        "errors_layer",
        "latency_pip",
        "latency_browser",
        "latency_mirror",
        "hit_ratio",
        "origin_slots",
        "queue_wait",
    }
    shield = next(s for s in specs["errors_layer"].series if s.name == "shield")
    assert max(v for v in shield.values[:20] if v is not None) == 0
    assert max(v for v in shield.values[20:40] if v is not None) > 0.2
    p99 = next(s for s in specs["latency_pip"].series if s.name == "p99")
    assert max(v for v in p99.values[20:40] if v is not None) > 10_000
    assert specs["latency_pip"].log_y and specs["errors_status"].percent
    assert [s.label for s in run.spans] == ["latency 20000 ms shield->origin"]


def test_a_rendered_report_contains_every_panel_and_the_window_table(tmp_path):
    run_dir = fault_run(tmp_path)
    html_path = write_report(run_dir)
    page = html_path.read_text()
    panels = set(re.findall(r'data-panel="([a-z_]+)"', page))
    assert panels == {spec.key for spec in panel_specs(load_run(run_dir))}
    assert page.count("data:image/png;base64,") == len(panels)  # self-contained
    assert "during latency shield-&gt;origin" in page
    markdown = (run_dir / "report.md").read_text()
    assert "| window |" in markdown and "report-errors_layer.png" in markdown
    assert (run_dir / "report-errors_layer.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_overlays_runs_and_tabulates_deltas_against_the_first(tmp_path):
    baseline = write_run(tmp_path / "baseline", "baseline", make_records(60, None, None), 60)
    faulty = fault_run(tmp_path)
    runs = [load_run(baseline), load_run(faulty)]
    overlays = {m.key: m for m in multiples(runs)}
    rows = overlays["errors_layer"].rows
    assert [label for label, _, _ in rows] == ["1: baseline", "2: shield-origin-latency"]
    shield = {label: next(s for s in series if s.name == "shield") for label, series, _ in rows}
    assert max(v or 0 for v in shield["1: baseline"].values) == 0
    assert max(v or 0 for v in shield["2: shield-origin-latency"].values) > 0.2
    assert rows[1][2] and not rows[0][2]  # each run shades its own faults
    header, rows = comparison_table(runs)
    assert header == ["phase", "metric", "1: baseline", "2: shield-origin-latency"]
    errors_during = next(row for row in rows if row[:2] == ["during", "errors"])
    assert errors_during[2] == "0.0%"
    assert errors_during[3].startswith(tuple("123456789")) and "(+" in errors_during[3]
    page = write_comparison([baseline, faulty], tmp_path / "cmp").read_text()
    assert page.count("data:image/png;base64,") == len(overlays)


def test_a_directory_that_is_not_a_run_is_one_clear_error(tmp_path):
    import pytest

    from harness.errors import BadInput

    with pytest.raises(BadInput, match="not a finished run directory"):
        load_run(tmp_path)
