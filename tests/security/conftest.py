"""Fixtures of the security suite: each request is seen on its own, so the arranging
session, the world and the client come from the plugin's detached variants (no request
context stays pushed; see `tests.plugin.detached_session`)."""

from __future__ import annotations

import pytest


@pytest.fixture
def session(detached_session):
    return detached_session


@pytest.fixture
def world(detached_world):
    return detached_world


@pytest.fixture
def client(detached_client):
    return detached_client
