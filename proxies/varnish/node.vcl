vcl 4.1;
# shieldlab $node: generated from the node's CdnNodeSettings (proxies/varnish/vcl.py), the
# same settings the Python model runs on. Do not edit: a team's own logic goes in vcl_include.

import std;
import directors;
import var;
import xkey;

$backends
backend shieldlab_metrics {
    .host = "$metrics_host";
    .port = "$metrics_port";
}

sub vcl_init {
$directors
}
sub vcl_recv {
    var.set_real("request_t0", std.real(time=now));
    if (local.socket == "admin") {
        if (req.method == "POST" && req.url ~ {"^$admin_prefix/purge/[^/]+$$"}) {
            var.set("purge_key", regsub(req.url, "^.*/", ""));
            var.set_int("purged", xkey.purge(var.get("purge_key")));
            return (synth(200, "purged"));
        }
        return (synth(404, "Not Found"));
    }
    if (req.url == "$health_path") {
        return (synth(200, "health"));
    }
    if (req.url == "$metrics_path") {
        set req.backend_hint = shieldlab_metrics;
        return (pass);
    }
    unset req.http.Cookie;
    if (req.method != "GET" && req.method != "HEAD") {
        set req.backend_hint = passes.backend();
        var.set("cache", "PASS");
$keep_pass_body
        return (pass);
    }
    set req.backend_hint = fill.backend();
    # PyPI's VCL: grace 15 s while the backend is healthy, 24 h while it is sick.
    if (std.healthy(req.backend_hint)) {
        set req.grace = $grace_healthy;
    } else {
        set req.grace = $grace_sick;
    }
}

sub vcl_hash {
    hash_data(req.url);
    # PyPI's CDN normalised Accept to the representation it selects.
    if (req.http.Accept ~ {"$json_accept"}) {
        hash_data("json");
    } else {
        hash_data("html");
    }
    return (lookup);
}

sub vcl_hit {
    if (obj.http.$error_node_header == "$node") {
        var.set("cache", "ERROR");  # a failed fetch's answer, shared with its waiters
    } elsif (obj.ttl <= 0s) {
        var.set("cache", "HIT-STALE");
    } elsif (std.real(obj.http.$stored_header, 0) > var.get_real("request_t0")) {
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
    if (bereq.url == "$metrics_path" || bereq.method == "POST") {
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    # Varnish 2.1 read the whole body before answering.
    set beresp.do_stream = false;
    set beresp.grace = $grace_kept;
    set beresp.keep = 0s;
    set beresp.http.xkey = beresp.http.$surrogate_key_header;
    set beresp.http.$stored_header = std.real(time=now);
    var.set("path", regsub(bereq.url, {"\?.*$$"}, ""));
$ttl_rules
}

sub vcl_backend_error {
    if (bereq.is_bgfetch) {
        # A refresh behind a stale answer: keep the stale object (storing this failure would
        # replace it, and grace could not serve it again).
        return (abandon);
    }
$reasons
$retry
    set beresp.status = 503;
    set beresp.reason = "Service Unavailable";
    set beresp.http.Content-Type = "text/html; charset=utf-8";
    set beresp.http.Retry-After = "0";
    set beresp.http.$error_node_header = "$node";
    set beresp.http.$error_reason_header = var.get("reason");
    # Kept a second, so the fetch's waiters share its failure (Varnish 2.1: they did).
    set beresp.ttl = $failed_fetch_ttl;
    set beresp.grace = 0s;
    set beresp.keep = 0s;
    synthetic({"<!DOCTYPE html>
<html><head><title>503 Service Unavailable</title></head><body>
<h1>Error 503 Service Unavailable</h1>
<p>"} + var.get("reason") + {"</p>
<h3>Guru Mediation:</h3><p>Details: $node</p>
<hr><p>Varnish cache server</p>
</body></html>
"});
    return (deliver);
}

sub vcl_synth {
    if (resp.reason == "health") {
        set resp.reason = "OK";
        set resp.http.Content-Type = "application/json";
        synthetic({"{"node": "$node", "ok": true, "backends": {"} + $health_backends + {"}}"});
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
$include
# --- the lab's decisions and its headers ---

sub vcl_recv {
    return (hash);
}

sub vcl_backend_response {
    return (deliver);
}

sub vcl_deliver {
    if (req.url == "$metrics_path" || local.socket == "admin") {
        return (deliver);
    }
    if (resp.http.$error_node_header == "$node") {
        # This node's own answer: a synthetic error, counted as a miss as the model does.
        set resp.http.$served_by_header = "$node";
        set resp.http.$cache_header = "MISS";
        set resp.http.$cache_hits_header = "0";
        set resp.http.Age = "0";
    } else {
        if (resp.http.$served_by_header) {
            set resp.http.$served_by_header = resp.http.$served_by_header + ", $node";
            set resp.http.$cache_header = resp.http.$cache_header + ", " + var.get("cache");
            set resp.http.$cache_hits_header = resp.http.$cache_hits_header + ", " + obj.hits;
        } else {
            set resp.http.$served_by_header = "$node";
            set resp.http.$cache_header = var.get("cache");
            set resp.http.$cache_hits_header = obj.hits;
        }
    }
    set resp.http.$timer_header = "S" + var.get_real("request_t0") + ",VS0,VE" +
        std.integer(real=(std.real(time=now) - var.get_real("request_t0")) * 1000, fallback=0);
    unset resp.http.xkey;
    unset resp.http.$stored_header;
    unset resp.http.Via;
    unset resp.http.X-Varnish;
}
