"""`shieldlab validate`: sweep every hypothesis family, score each point against the incident
signature with its uncertainty, fit each family, and say in words what the evidence supports.

The modules, in the order a validation uses them: `families` (hypothesis families: a scenario
template and the parameters to sweep), `signature` (the incident's symptoms in the expectation
language), `sweep` (each family's staircases), `plan` (which runs: the sweep's points, the
signature's control), `running` (each run once, void runs retried once and never scored,
undecided points repeated in full mode), `scoring` (points on their pooled runs, against the
control), `fit` and `verdict` (where each family is consistent, its best fit, the words),
`record` and `report` (the terminal, validate.json, the HTML). Families whose runs need packet
loss are left out, with one line saying why, when this process may not make network namespaces.
"""
