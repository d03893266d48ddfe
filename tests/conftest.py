"""Test harness: the shared fixtures live in one plugin, tests/plugin.py (the app and its
database, isolation of the database and the chain, the world, the ledger); helpers live in
plain modules (tests/factories.py, tests/orders_factory.py, tests/ledger_helpers.py, and
each suite's helpers.py)."""

pytest_plugins = ["tests.plugin"]
