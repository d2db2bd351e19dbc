"""Shared fixtures for the community tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def english(client):
    """The test client asks for English pages, so assertions read like the messages in the code."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
