from harness.run.context import Progress
from harness.run.progress import render
from harness.run.scraper import LiveRates, edge_totals, parse_samples

TEXT = """# HELP shieldlab_requests_total Responses by status
# TYPE shieldlab_requests_total counter
shieldlab_requests_total{status="200"} 90.0
shieldlab_requests_total{status="503"} 10.0
# HELP shieldlab_in_flight Requests being handled
# TYPE shieldlab_in_flight gauge
shieldlab_in_flight 3.0
"""


def test_parse_samples_keeps_names_labels_and_values():
    rows = parse_samples(TEXT)
    assert ("shieldlab_requests_total", "status=503", 10.0) in rows
    assert ("shieldlab_in_flight", "", 3.0) in rows


def test_live_rates_count_only_what_the_edges_answered():
    rows = parse_samples(TEXT)
    assert edge_totals({"edge-iad": rows, "edge-ams": rows, "shield": rows, "origin": rows}) == (
        200.0,
        20.0,
    )
    assert LiveRates(50.0, 5.0).error_ratio == 0.1
    assert LiveRates().error_ratio == 0.0


def test_the_progress_line_shows_phase_elapsed_rate_and_errors():
    line = render(Progress("traffic and faults", 45, 90, LiveRates(120.0, 6.0))).plain
    assert line.startswith("traffic and faults")
    assert "45/90 s" in line and "120.0 req/s" in line and "err  5.0%" in line
    assert "#" * 10 in line and "#" * 11 not in line
