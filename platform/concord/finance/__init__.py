"""Supply-chain finance: invoices, three-way match, receivables, financing (see models.py)."""
