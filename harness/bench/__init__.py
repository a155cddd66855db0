"""`shieldlab bench`: speed and fidelity, measured, never asserted by a timed test.

`speed` (the default: start-up, requests per second, latency added per hop, and each fault's
fidelity), `compose` (the same in containers), `detection` (the
smallest fault `diagnose` finds, and its false alarms), and the parts they share: `client` (the
measuring HTTP client, its tallies' percentiles), `cdn`, `latency`, `load`, `loss` and `tap`
(one measurement each).
"""
