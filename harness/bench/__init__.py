"""`shieldlab bench`: speed and fidelity, measured, never asserted by a timed test.

`speed` (the default: requests per second and latency added per hop, the local nodes against
real Varnish where it is installed), `compose` (the same in containers), `detection` (the
smallest fault `diagnose` finds, and its false alarms), and the parts they share: `client` (the
measuring HTTP client, its tallies' percentiles), `cdn`, `latency`, `load`, `loss` and `tap`
(one measurement each).
"""
