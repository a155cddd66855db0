from harness.scenario import topology_plan as plan
from harness.scenario.model import expand_link
from harness.scenario.topology import CdnKind
from proxies import contract


def test_every_link_of_a_two_pop_topology_with_two_web_nodes():
    links = {
        link.name: (link.target, link.port_name) for link in plan.plan_links(["iad", "ams"], 2)
    }
    assert links == {
        "shield->origin-1": ("origin", "origin-1"),
        "shield->origin-2": ("origin", "origin-2"),
        "client->edge-iad": ("edge-iad", "port"),
        "edge-iad->shield": ("shield", "port"),
        "edge-iad->origin-1": ("origin", "origin-1"),
        "edge-iad->origin-2": ("origin", "origin-2"),
        "client->edge-ams": ("edge-ams", "port"),
        "edge-ams->shield": ("shield", "port"),
        "edge-ams->origin-1": ("origin", "origin-1"),
        "edge-ams->origin-2": ("origin", "origin-2"),
    }


def test_a_link_to_a_web_node_answers_to_its_group():
    known = [link.name for link in plan.plan_links(["iad"], 2)]
    assert expand_link("shield->origin", known) == ["shield->origin-1", "shield->origin-2"]
    assert expand_link("shield->origin-2", known) == ["shield->origin-2"]
    assert expand_link("edge-*->origin", known) == ["edge-iad->origin-1", "edge-iad->origin-2"]
    assert expand_link("edge-*->shield", known) == ["edge-iad->shield"]
    assert plan.link_group("client->edge-iad") == "client->edge-iad"


def test_edges_send_gets_to_the_shield_and_posts_to_every_web_node():
    nodes = {n.name: n for n in plan.plan_nodes(["sjc"])}
    edge = plan.backends_of(nodes["edge-sjc"], 2)
    assert edge == plan.Backends(
        fill={"shield": "edge-sjc->shield"},
        passes={"origin-1": "edge-sjc->origin-1", "origin-2": "edge-sjc->origin-2"},
    )
    shield = plan.backends_of(nodes["shield"], 2)
    assert shield is not None and shield.fill == shield.passes
    assert shield.fill == {"origin-1": "shield->origin-1", "origin-2": "shield->origin-2"}
    assert plan.backends_of(nodes["origin"], 2) is None
    assert nodes["origin"].module() == "proxies.origin"
    assert nodes["edge-sjc"].module() == "proxies.cdn"
    assert nodes["edge-sjc"].module(CdnKind.VARNISH) == "proxies.varnish"
    assert nodes["shield"].module(CdnKind.VARNISH) == "proxies.varnish"
    assert nodes["origin"].module(CdnKind.VARNISH) == "proxies.origin"


def test_the_static_mirror_has_a_link_of_its_own_and_only_the_shield_falls_back_to_it():
    links = {link.name: link for link in plan.plan_links(["iad"], 2, static_mirror=True)}
    mirror = links["shield->mirror"]
    assert (mirror.target, mirror.port_name) == ("origin", "mirror")
    assert expand_link("shield->origin", list(links)) == ["shield->origin-1", "shield->origin-2"]
    nodes = {n.name: n for n in plan.plan_nodes(["iad"])}
    shield = plan.backends_of(nodes["shield"], 2, static_mirror=True)
    assert shield is not None and shield.fallback == {"mirror": "shield->mirror"}
    edge = plan.backends_of(nodes["edge-iad"], 2, static_mirror=True)
    assert edge is not None and edge.fallback == {}


def test_toxiproxy_names_are_url_safe():
    for link in plan.plan_links(["iad"], 2):
        assert ">" not in link.proxy_name


def test_endpoint_classes():
    classify = contract.classify_path
    assert classify("GET", "/simple/") is contract.EndpointClass.SIMPLE_INDEX
    assert classify("GET", "/simple/a/") is contract.EndpointClass.SIMPLE_PROJECT
    assert classify("GET", "/pypi/a/json") is contract.EndpointClass.PROJECT_JSON
    assert classify("GET", "/packages/x.whl") is contract.EndpointClass.PACKAGE_FILE
    assert classify("GET", "/serversig/a/") is contract.EndpointClass.SERVERSIG
    assert classify("POST", "/pypi") is contract.EndpointClass.XMLRPC
