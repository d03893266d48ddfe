"""The trace of a lot laid out for the portal's SVG (drawn server-side by the template, no
script): lots in columns by how many transformations separate them from the traced lot
(inputs to the left, what was made of it to the right), suppliers of the upstream lots in
the first column, and every holder of the recall list in the last.
"""

from __future__ import annotations

from typing import Any

NODE_WIDTH, NODE_HEIGHT = 210, 46
COLUMN_GAP, ROW_GAP, MARGIN = 340, 66, 16


def _lot_label(lot: dict[str, Any]) -> tuple[str, str]:
    return (f"Lot {lot['lot']}" if lot["lot"] else "No lot", f"GTIN {lot['gtin']}" if lot["gtin"] else lot["epc_class"][-30:])


def _party_label(party: dict[str, Any] | None) -> str:
    if not party:
        return "Unknown party"
    return party.get("name") or party["party"][-30:]


def draw(body: dict[str, Any]) -> dict[str, Any]:
    """Nodes (x, y, two lines of text, kind) and edges (x1, y1, x2, y2, label) of a trace
    (as `trace.as_json` gives it), and the drawing's size."""
    columns: dict[int, list[tuple[str, tuple[str, str], str]]] = {}
    upstream_depth = max([lot["depth"] for lot in body["lots"] if lot["direction"] == "upstream"], default=0)
    for lot in body["lots"]:
        column = 1 + (upstream_depth - lot["depth"] if lot["direction"] == "upstream" else upstream_depth + lot["depth"])
        columns.setdefault(column, []).append((lot["epc_class"], _lot_label(lot), lot["direction"]))
    last = max(columns) + 1
    edges_by_key: list[tuple[str, str, str]] = []
    suppliers: dict[str, dict[str, Any]] = {}
    for lot in body["lots"]:
        for party in lot["supplied_by"]:
            suppliers[party["party"]] = party
            edges_by_key.append((f"party:{party['party']}", lot["epc_class"], "supplied"))
    for party_id, party in suppliers.items():
        columns.setdefault(0, []).append((f"party:{party_id}", (_party_label(party), "supplier"), "party"))
    holders: dict[str, dict[str, Any]] = {}
    for entry in body["recall"]:
        if entry["received"] != "0" or entry["in_transit_to"] != "0" or entry["rejected"] != "0":
            holders[entry["holder"]["party"]] = entry["holder"]
            edges_by_key.append((entry["epc_class"], f"holder:{entry['holder']['party']}", f"received {entry['received']}"))
    for party_id, party in holders.items():
        columns.setdefault(last, []).append((f"holder:{party_id}", (_party_label(party), "holder"), "holder"))
    for transformation in body["transformations"]:
        maker = _party_label(transformation["organization"])
        for source in transformation["inputs"]:
            for made in transformation["outputs"]:
                edges_by_key.append((source["epc_class"], made["epc_class"], f"made by {maker}"))
    shift = 0 if 0 in columns else 1
    nodes: dict[str, dict[str, Any]] = {}
    for column, members in columns.items():
        for row, (key, (title, subtitle), kind) in enumerate(members):
            x, y = MARGIN + (column - shift) * COLUMN_GAP, MARGIN + row * ROW_GAP
            nodes[key] = {"x": x, "y": y, "title": title[:32], "subtitle": subtitle[:36], "kind": kind}
    edges: list[dict[str, Any]] = []
    for start, end, label in edges_by_key:
        if start in nodes and end in nodes and (start, end, label) not in {(e["from"], e["to"], e["label"]) for e in edges}:
            a, b = nodes[start], nodes[end]
            edges.append(
                {
                    "from": start,
                    "to": end,
                    "label": label if len(label) <= 24 else label[:23] + "…",
                    "x1": a["x"] + NODE_WIDTH,
                    "y1": a["y"] + NODE_HEIGHT // 2,
                    "x2": b["x"],
                    "y2": b["y"] + NODE_HEIGHT // 2,
                }
            )
    width = MARGIN * 2 + (max(columns) - shift) * COLUMN_GAP + NODE_WIDTH
    height = MARGIN * 2 + max(len(m) for m in columns.values()) * ROW_GAP
    return {"nodes": list(nodes.values()), "edges": edges, "width": width, "height": height, "node_width": NODE_WIDTH, "node_height": NODE_HEIGHT}
