"""Concord: a multi-tenant B2B collaboration platform for supply chains."""

__version__ = "0.1.0"
