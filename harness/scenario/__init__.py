"""The scenario model: the bottom layer every other package reads.

A scenario file (YAML) is read by `reader` into the frozen models here: `model` (the scenario),
`steps` (faults and load steps on the timeline), `expectation` (the expectation language),
`mix` and `traffic` (what the users do), `load` (how many users, how fast), `topology` and
`topology_plan` (the nodes and links a scenario's settings make), `clock` (scenario time against
wall time). Nothing here imports another harness package but `errors`.
"""
