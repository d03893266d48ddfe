"""Documents as a member uploads them: the form fields and a small file of each kind."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import sqlalchemy as sa
from concord import clock, files
from concord.db import database
from concord.documents import service
from concord.documents.models import Document
from concord.ledger.models import ChainIntent, ContractDeployment

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde" + b"\x00" * 16


def form(data: bytes = PDF, name: str = "iso9001.pdf", **fields: Any) -> dict[str, Any]:
    """A multipart body: an ISO 9001 certificate about the organization, unless told otherwise."""
    body: dict[str, Any] = {
        "kind": "iso_9001",
        "issuer": "TÜV Nord Cert GmbH",
        "document_number": "44 100 123456",
        "valid_from": "2026-01-01",
        "valid_until": "2028-12-31",
        "subject_type": "organization",
    }
    body.update({key: value for key, value in fields.items() if value is not None})
    for key in [key for key, value in fields.items() if value is None]:
        body.pop(key, None)
    if data is not None:
        body["file"] = (io.BytesIO(data), name)
    return body


def upload(client, headers, **kwargs: Any):
    return client.post("/api/v1/documents", headers=headers, data=form(**kwargs), content_type="multipart/form-data")


def written(app) -> dict[str, int]:
    """How many documents, stored files and document anchorings the database holds."""
    with database(app).sessionmaker() as session:
        return {
            "documents": session.execute(sa.select(sa.func.count()).select_from(Document)).scalar_one(),
            "files": session.execute(sa.select(sa.func.count()).select_from(files.StoredFile)).scalar_one(),
            "anchorings": session.execute(sa.select(sa.func.count()).select_from(ChainIntent).where(ChainIntent.subject_type == "document")).scalar_one(),
        }


def certificate_without_chain(session, owner) -> Document:
    """An ISO 9001 certificate of `owner`, its anchoring queued on a ProvenanceAnchor that is
    only recorded as deployed (for tests about access, where nothing is sent)."""
    deployed = {"address": "0x" + "a" * 40, "tx_hash": "0x" + "b" * 64, "block_number": 1, "source_hash": "s", "code_hash": "c"}
    session.add(ContractDeployment(chain_id=1337, name="ProvenanceAnchor", artifact="ProvenanceAnchor", deployed_at=clock.utcnow(), **deployed))
    fields = {"kind": "iso_9001", "issuer": "Cert Body", "document_number": "A-1", "valid_from": date(2026, 1, 1), "subject_type": "organization"}
    return service.upload(session, owner.principal, fields, files.Upload("a-iso9001.pdf", PDF, "application/pdf"))
