"""What the notification tests share: subscribing a webhook through the API and counting rows."""

from __future__ import annotations

import sqlalchemy as sa
from concord.db import database


def subscribe(client, member, url="https://erp.example.com/concord", events=("*",)) -> dict:
    response = client.post("/api/v1/webhooks", json={"url": url, "events": list(events)}, headers=member.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def count(app, model) -> int:
    with database(app).sessionmaker() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
