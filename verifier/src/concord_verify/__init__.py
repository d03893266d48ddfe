"""Concord's provenance checks that need neither the platform nor its database: the GS1
event hash ID, organizations' EIP-712 attestations, Merkle batches and proof bundles, and
`concord-verify`, the command that checks a bundle against any JSON-RPC node."""
