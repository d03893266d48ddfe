"""The operator reviews members' new legal names on the members page (issue 9, finding 6)."""

from __future__ import annotations


def test_the_operator_reviews_new_names_in_the_portal(app, client, world, signed_in):
    asked = client.patch(f"/api/v1/organizations/{world.buyer2.org.id}", json={"legal_name": "Buyer Two Group SA"}, headers=world.buyer2.headers)
    assert asked.status_code == 200, asked.get_json()
    operator = signed_in(world.operator)
    page = operator.get("/operator/organizations").get_data(as_text=True)
    assert "New legal names to review" in page and "Buyer Two Group SA" in page
    decided = operator.post(f"/operator/organizations/{world.buyer2.org.id}/legal-name/approve", {"reason": "Checked"}, follow_redirects=True)
    assert decided.status_code == 200
    text = decided.get_data(as_text=True)
    assert "Buyer Two Group SA: new legal name approved." in text and "New legal names to review" not in text
    # A member posting the same form meets a 404, like any other organization's object.
    member = signed_in(world.buyer)
    assert member.post(f"/operator/organizations/{world.buyer2.org.id}/legal-name/reject").status_code == 404
