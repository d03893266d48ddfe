"""Opening a form's POST-only address with GET (a refresh after a form error, a retyped
address) leads to the page holding the form, not a 405 (issue 9, section 2, finding 3)."""

from __future__ import annotations

import uuid

import pytest


@pytest.mark.parametrize(
    ("path", "page"),
    [
        ("/orders/{order}/acknowledge", "/orders/{order}"),
        ("/orders/{order}/issue", "/orders/{order}"),
        ("/organization/users/{user}/role", "/organization/users"),
        ("/notifications/read-all", "/notifications"),
    ],
)
def test_a_get_of_a_post_only_address_leads_to_its_page(world, signed_in, path, page):
    ids = {"order": uuid.uuid4(), "user": world.buyer.admin.id}
    buyer = signed_in(world.buyer)
    response = buyer.get(path.format(**ids))
    assert response.status_code == 303, response.status_code
    assert response.headers["Location"] == page.format(**ids)


def test_the_api_still_answers_405_with_a_problem(client, world):
    response = client.get("/api/v1/auth/logout", headers=world.buyer.headers)
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"]


def test_a_post_to_a_page_that_takes_none_is_still_405(world, signed_in):
    assert signed_in(world.buyer).post("/dashboard").status_code == 405
