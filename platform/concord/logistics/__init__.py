"""Shipments (advance shipping notices), carrier milestones and proofs of delivery."""
