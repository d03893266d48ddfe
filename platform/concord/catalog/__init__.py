"""Products (SKU, optional GTIN) and locations (address, optional GLN) of each organization."""
