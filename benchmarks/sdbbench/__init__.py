"""sessiondb's benchmark harness: sessiondb beside raw SQL lower bounds and its peers.

Run it with ``python benchmarks/run.py`` (see benchmarks/README.md). Modules:
``data`` (realistic messages), ``stats`` (interleaved rounds, medians, tables), ``raw``
(raw sqlite3 / psycopg lower bounds), ``subjects`` (sessiondb), ``peers`` (the stores users
would pick instead), ``workloads`` (W1-W7) and ``pgworkloads`` (PostgreSQL variants).
"""
