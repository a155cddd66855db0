"""`shieldlab run`: one scenario, end to end, as phases over one context.

`runner` (the entry point and the order of the phases), `phases` (one function per phase),
`context` (what every phase takes, and the narrow interface it sees the lab through), `clock`
(the injected clocks), `lab` (the topology up in either mode, as the phases use it),
`timeline` (faults and actions applied and removed on time), `scraper` and `publisher` (the
background work of a run), `run_dir` (the run's directory, finished once), `progress`.
"""
