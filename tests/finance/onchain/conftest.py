"""Financing on the embedded chain: these tests run on the funded world, and settle each
step through a worker of its chain."""

from tests.funded_fixtures import chain_worker, world

__all__ = ["chain_worker", "world"]
