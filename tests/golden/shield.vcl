vcl 4.1;
# shieldlab shield: generated from the node's CdnNodeSettings (proxies/varnish/vcl.py), the
# same settings the Python model runs on. Do not edit: a team's own logic goes in vcl_include.

import std;
import directors;
import var;
import xkey;

backend origin_1 {
    .host = "127.0.0.1";
    .port = "20001";
    .connect_timeout = 1s;
    .first_byte_timeout = 15s;
    .between_bytes_timeout = 10s;
    .max_connections = 200;
    .probe = {
        .url = "/daytime";
        .interval = 5s;
        .timeout = 2s;
        .window = 8;
        .threshold = 3;
        .initial = 3;
    }
}

backend origin_2 {
    .host = "127.0.0.1";
    .port = "20002";
    .connect_timeout = 1s;
    .first_byte_timeout = 15s;
    .between_bytes_timeout = 10s;
    .max_connections = 200;
    .probe = {
        .url = "/daytime";
        .interval = 5s;
        .timeout = 2s;
        .window = 8;
        .threshold = 3;
        .initial = 3;
    }
}

backend mirror {
    .host = "127.0.0.1";
    .port = "20003";
    .connect_timeout = 1s;
    .first_byte_timeout = 15s;
    .between_bytes_timeout = 10s;
    .max_connections = 200;
    .probe = {
        .url = "/_shieldlab/health";
        .interval = 5s;
        .timeout = 2s;
        .window = 8;
        .threshold = 3;
        .initial = 3;
    }
}

backend shieldlab_metrics {
    .host = "127.0.0.1";
    .port = "20099";
}

sub vcl_init {
    new fill_primary = directors.random();
    fill_primary.add_backend(origin_1, 1);
    fill_primary.add_backend(origin_2, 1);
    new fill_fallback = directors.random();
    fill_fallback.add_backend(mirror, 1);
    new fill = directors.fallback();
    fill.add_backend(fill_primary.backend());
    fill.add_backend(fill_fallback.backend());
    new passes = directors.random();
    passes.add_backend(origin_1, 1);
    passes.add_backend(origin_2, 1);
}
sub vcl_recv {
    var.set_real("request_t0", std.real(time=now));
    if (local.socket == "admin") {
        if (req.method == "POST" && req.url ~ {"^/_admin/purge/[^/]+$"}) {
            var.set("purge_key", regsub(req.url, "^.*/", ""));
            var.set_int("purged", xkey.purge(var.get("purge_key")));
            return (synth(200, "purged"));
        }
        return (synth(404, "Not Found"));
    }
    if (req.url == "/_shieldlab/health") {
        return (synth(200, "health"));
    }
    if (req.url == "/metrics") {
        set req.backend_hint = shieldlab_metrics;
        return (pass);
    }
    unset req.http.Cookie;
    if (req.method != "GET" && req.method != "HEAD") {
        set req.backend_hint = passes.backend();
        var.set("cache", "PASS");
        std.cache_req_body(10MB);
        return (pass);
    }
    set req.backend_hint = fill.backend();
    # PyPI's VCL: grace 15 s while the backend is healthy, 24 h while it is sick.
    if (std.healthy(req.backend_hint)) {
        set req.grace = 15s;
    } else {
        set req.grace = 86400s;
    }
}

sub vcl_hash {
    hash_data(req.url);
    # PyPI's CDN normalised Accept to the representation it selects.
    if (req.http.Accept ~ {"application/vnd\.pypi\.simple\.v1\+json"}) {
        hash_data("json");
    } else {
        hash_data("html");
    }
    return (lookup);
}

sub vcl_hit {
    if (obj.http.X-Shieldlab-Error-Node == "shield") {
        var.set("cache", "ERROR");  # a failed fetch's answer, shared with its waiters
    } elsif (obj.ttl <= 0s) {
        var.set("cache", "HIT-STALE");
    } elsif (std.real(obj.http.X-Shieldlab-Stored, 0) > var.get_real("request_t0")) {
        var.set("cache", "HIT-COLLAPSED");  # stored after this request arrived: it waited
    } else {
        var.set("cache", "HIT");
    }
}

sub vcl_miss {
    var.set("cache", "MISS");
}

sub vcl_backend_fetch {
    var.set_real("fetch_t0", std.real(time=now));
    var.set("headers", "no");  # a retry starts again
    # Varnish 2.1 turned a cache fill into a GET; Varnish 7 does too.
}

sub vcl_backend_response {
    var.set("headers", "yes");
    var.set_real("headers_t0", std.real(time=now));
    if (bereq.url == "/metrics" || bereq.method == "POST") {
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    # Varnish 2.1 read the whole body before answering.
    set beresp.do_stream = false;
    set beresp.grace = 86400s;
    set beresp.keep = 0s;
    set beresp.http.xkey = beresp.http.Surrogate-Key;
    set beresp.http.X-Shieldlab-Stored = std.real(time=now);
    var.set("path", regsub(bereq.url, {"\?.*$"}, ""));
    if (beresp.status == 404) {
        set beresp.ttl = 60s;
    } elsif (!(beresp.status == 200 || beresp.status == 203 || beresp.status == 300 || beresp.status == 301 || beresp.status == 302 || beresp.status == 404 || beresp.status == 410)) {
        set beresp.uncacheable = true; set beresp.ttl = 1s;
    } elsif (var.get("path") ~ {"^/simple/"}) {
        set beresp.ttl = 86400s;
    } elsif (var.get("path") ~ {"^/packages/"}) {
        set beresp.ttl = 86400s;
    } elsif (var.get("path") ~ {"^/pypi/[^/]+(/[^/]+)?/json$"}) {
        set beresp.ttl = 86400s;
    } elsif (var.get("path") ~ {"^/serversig/"}) {
        set beresp.ttl = 86400s;
    } elsif (var.get("path") ~ {"^/pypi"}) {
        set beresp.ttl = 60s;
    } else {
        set beresp.uncacheable = true; set beresp.ttl = 1s;
    }
    if (beresp.ttl <= 0s) {
        set beresp.uncacheable = true; set beresp.ttl = 1s;
    }
}

sub vcl_backend_error {
    if (bereq.is_bgfetch) {
        # A refresh behind a stale answer: keep the stale object (storing this failure would
        # replace it, and grace could not serve it again).
        return (abandon);
    }
    if (bereq.method == "POST") {
        if (!std.healthy(bereq.backend)) {
            var.set("reason", "All backends failed or unhealthy");
        } elsif (var.get("headers") == "yes" && (std.real(time=now) - var.get_real("headers_t0")) >= 9.8) {
            var.set("reason", "between bytes timeout");
        } elsif (var.get("headers") == "yes") {
            var.set("reason", "backend read error");
        } elsif ((std.real(time=now) - var.get_real("fetch_t0")) >= 14.7) {
            var.set("reason", "first byte timeout");
        } elsif ((std.real(time=now) - var.get_real("fetch_t0")) >= 0.98 && (std.real(time=now) - var.get_real("fetch_t0")) < 1.23) {
            var.set("reason", "Connection timed out");
        } elsif (true) {
            var.set("reason", "backend read error");
        }
    } else {
        if (!std.healthy(bereq.backend)) {
            var.set("reason", "All backends failed or unhealthy");
        } elsif (var.get("headers") == "yes" && (std.real(time=now) - var.get_real("headers_t0")) >= 9.8) {
            var.set("reason", "between bytes timeout");
        } elsif (var.get("headers") == "yes") {
            var.set("reason", "backend read error");
        } elsif ((std.real(time=now) - var.get_real("fetch_t0")) >= 14.7) {
            var.set("reason", "first byte timeout");
        } elsif ((std.real(time=now) - var.get_real("fetch_t0")) >= 0.98 && (std.real(time=now) - var.get_real("fetch_t0")) < 1.23) {
            var.set("reason", "Connection timed out");
        } elsif (true) {
            var.set("reason", "backend read error");
        }
    }
    # Varnish 2.1's silent retry: once more after a first-byte timeout.
    if (bereq.retries == 0 && var.get("reason") == "first byte timeout") {
        return (retry);
    }
    set beresp.status = 503;
    set beresp.reason = "Service Unavailable";
    set beresp.http.Content-Type = "text/html; charset=utf-8";
    set beresp.http.Retry-After = "0";
    set beresp.http.X-Shieldlab-Error-Node = "shield";
    set beresp.http.X-Shieldlab-Error-Reason = var.get("reason");
    # Kept a second, so the fetch's waiters share its failure (Varnish 2.1: they did).
    set beresp.ttl = 1s;
    set beresp.grace = 0s;
    set beresp.keep = 0s;
    synthetic({"<!DOCTYPE html>
<html><head><title>503 Service Unavailable</title></head><body>
<h1>Error 503 Service Unavailable</h1>
<p>"} + var.get("reason") + {"</p>
<h3>Guru Mediation:</h3><p>Details: shield</p>
<hr><p>Varnish cache server</p>
</body></html>
"});
    return (deliver);
}

sub vcl_synth {
    if (resp.reason == "health") {
        set resp.reason = "OK";
        set resp.http.Content-Type = "application/json";
        synthetic({"{"node": "shield", "ok": true, "backends": {"} + {""origin-1": "} + std.healthy(origin_1) + {", "origin-2": "} + std.healthy(origin_2) + {", "mirror": "} + std.healthy(mirror) + {"}}"});
        return (deliver);
    }
    if (resp.reason == "purged") {
        set resp.reason = "OK";
        set resp.http.Content-Type = "application/json";
        synthetic({"{"purged": "} + var.get_int("purged") + {", "key": ""} +
            var.get("purge_key") + {"""} + "}");
        return (deliver);
    }
}

# --- a team's own logic (vcl_include) runs here, after the lab's, before its decisions ---

# --- the lab's decisions and its headers ---

sub vcl_recv {
    return (hash);
}

sub vcl_backend_response {
    return (deliver);
}

sub vcl_deliver {
    if (req.url == "/metrics" || local.socket == "admin") {
        return (deliver);
    }
    if (resp.http.X-Shieldlab-Error-Node == "shield") {
        # This node's own answer: a synthetic error, counted as a miss as the model does.
        set resp.http.X-Served-By = "shield";
        set resp.http.X-Cache = "MISS";
        set resp.http.X-Cache-Hits = "0";
        set resp.http.Age = "0";
    } else {
        if (resp.http.X-Served-By) {
            set resp.http.X-Served-By = resp.http.X-Served-By + ", shield";
            set resp.http.X-Cache = resp.http.X-Cache + ", " + var.get("cache");
            set resp.http.X-Cache-Hits = resp.http.X-Cache-Hits + ", " + obj.hits;
        } else {
            set resp.http.X-Served-By = "shield";
            set resp.http.X-Cache = var.get("cache");
            set resp.http.X-Cache-Hits = obj.hits;
        }
    }
    set resp.http.X-Timer = "S" + var.get_real("request_t0") + ",VS0,VE" +
        std.integer(real=(std.real(time=now) - var.get_real("request_t0")) * 1000, fallback=0);
    unset resp.http.xkey;
    unset resp.http.X-Shieldlab-Stored;
    unset resp.http.Via;
    unset resp.http.X-Varnish;
}
