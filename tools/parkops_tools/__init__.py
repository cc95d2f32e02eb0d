"""Developer tools of parkops, kept out of the runtime wheel (``plugins/parkops``).

- ``python -m parkops_tools.generator``: deterministic sample data for the feeds (``make sample``, tests, bench)
- ``python -m parkops_tools.run_dag``: DAG runs through ``airflow dags test`` (``make run``, ``make reports``)
- ``python -m parkops_tools.docs``: the analysts' guide ``docs/warehouse.md`` (``make docs``)
- ``python -m parkops_tools.outbox``: a local SMTP server keeping messages as ``.eml`` files (``make outbox``)

They import ``parkops``; ``parkops`` never imports them (tests/unit/test_package_boundaries.py).
"""
