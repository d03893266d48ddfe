"""Provenance: EPCIS 2.0 events, their attestations, batches and proofs."""
