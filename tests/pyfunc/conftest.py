"""Fixtures shared with the model tests."""

from __future__ import annotations

from tests.models.conftest import tracking_uri

__all__ = ["tracking_uri"]
