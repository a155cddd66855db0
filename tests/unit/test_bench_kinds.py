from rich.console import Console

from harness.bench.kinds import BARE_VCL, print_cdn_kinds


def _row(cdn: str, edge_rps: int, node_hop: float, bare_rps: int | None = None) -> dict:
    row = {
        "cdn": cdn,
        "client_link": {"rps": edge_rps // 2, "p50_ms": 1.0},
        "edge_node": {"rps": edge_rps, "p50_ms": 0.5},
        "node_hop_p50_ms": node_hop,
        "link_hop_p50_ms": 0.2,
    }
    if bare_rps is not None:
        row["bare_varnish"] = {"rps": bare_rps, "p50_ms": 0.3, "miss_hop_p50_ms": 0.2}
        row["share_of_bare"] = round(edge_rps / bare_rps, 2)
    return row


def _printed(rows: list[dict]) -> str:
    out = Console(record=True, width=300, color_system="truecolor")
    print_cdn_kinds({"connections": 16, "duration_s": 5.0, "kinds": rows}, out)
    return out.export_text(styles=True)


def test_a_varnish_node_under_half_the_bare_one_or_a_slow_hop_is_shown_red():
    text = _printed([_row("model", 5000, 1.9), _row("varnish", 4000, 0.4, bare_rps=10000)])
    assert "0.4" in text and "10000" in text
    red = "\x1b[31m"
    assert f"{red}0.4" in text  # share of bare 0.4 < 0.5, and hop 0.4 ms > 0.3 ms
    assert text.count(red) == 2  # the model's hop has no goal


def test_a_missing_varnish_is_a_row_that_says_why():
    text = _printed([_row("model", 5000, 1.9), {"cdn": "varnish", "not_measured": "no varnishd"}])
    assert "not measured: no varnishd" in text


def test_the_bare_vcl_caches_everything_in_front_of_the_origin():
    vcl = BARE_VCL.format(host="127.0.0.1", port=8080)
    assert '.port = "8080"' in vcl and "return (hash)" in vcl and "beresp.ttl = 1h" in vcl
