"""Vendor-managed inventory: forecasts and replenishment policy (pure functions, no storage yet)."""
