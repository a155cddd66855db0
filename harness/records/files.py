"""The names of the files in a run directory: what `run` writes and `analysis` reads.

Kept apart so the analysis never imports the code that runs scenarios.
"""

RUN_FILE = "run.json"
EVENTS_FILE = "events.jsonl"
REQUESTS_FILE = "requests.csv"
SAMPLES_FILE = "samples.csv"
SUMMARY_FILE = "summary.json"
SCENARIO_FILE = "scenario.yaml"
PLAN_FILE = "load-plan.json"
LOCUST_LOG = "locust.log"
