def test_health_reports_database_ok(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "ledger": "ok",
        "ledger_steps_waiting": 0,
        "ledger_stalled_since": None,
        "version": "0.1.0",
    }


def test_world_admin_sees_own_organization(client, world):
    response = client.get("/api/v1/me", headers=world.buyer.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["organization"]["legal_name"] == "Buyer One GmbH"
