# A team's VCL change: while the backend is sick, serve anything the shield still holds, and
# keep objects a day past their lifetime (the lab's 24 h grace is compressed by time_scale).
sub vcl_recv {
    if (!std.healthy(req.backend_hint)) {
        set req.grace = 24h;
    }
}

sub vcl_backend_response {
    set beresp.grace = 24h;
}
