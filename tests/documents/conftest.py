"""Fixtures of the documents suite: each request is seen on its own (the plugin's detached
variants of the session, the world and the client; see `tests.plugin.detached_session`)."""

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
