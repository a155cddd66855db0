from harness.topology import plan
from proxies import contract


def test_every_link_of_a_two_pop_topology():
    links = {link.name: link.target for link in plan.plan_links(["iad", "ams"])}
    assert links == {
        "shield->origin": "origin",
        "client->edge-iad": "edge-iad",
        "edge-iad->shield": "shield",
        "edge-iad->origin": "origin",
        "client->edge-ams": "edge-ams",
        "edge-ams->shield": "shield",
        "edge-ams->origin": "origin",
    }


def test_edges_send_gets_to_the_shield_and_posts_to_the_origin():
    nodes = {n.name: n for n in plan.plan_nodes(["sjc"])}
    assert plan.backends_of(nodes["edge-sjc"]) == ("edge-sjc->shield", "edge-sjc->origin")
    assert plan.backends_of(nodes["shield"]) == ("shield->origin", "shield->origin")
    assert plan.backends_of(nodes["origin"]) is None
    assert nodes["origin"].module == "proxies.origin"
    assert nodes["edge-sjc"].module == "proxies.cdn"


def test_toxiproxy_names_are_url_safe():
    for link in plan.plan_links(["iad"]):
        assert ">" not in link.proxy_name


def test_endpoint_classes():
    classify = contract.classify_path
    assert classify("GET", "/simple/") is contract.EndpointClass.SIMPLE_INDEX
    assert classify("GET", "/simple/a/") is contract.EndpointClass.SIMPLE_PROJECT
    assert classify("GET", "/pypi/a/json") is contract.EndpointClass.PROJECT_JSON
    assert classify("GET", "/packages/x.whl") is contract.EndpointClass.PACKAGE_FILE
    assert classify("GET", "/serversig/a/") is contract.EndpointClass.SERVERSIG
    assert classify("POST", "/pypi") is contract.EndpointClass.XMLRPC
