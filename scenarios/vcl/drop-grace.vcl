# A team's VCL change that drops grace: an expired object is never served, even while the
# backend is sick. The vcl-grace-dropped suite must fail on it.
sub vcl_recv {
    set req.grace = 0s;
}
