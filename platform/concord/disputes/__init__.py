"""Disputes over an order's escrow, decided by the arbiter with a split."""
