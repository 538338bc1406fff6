"""Fault suite: each test builds a real library on disk, injects one fault and checks that
nothing is lost (fixtures for the tiny models come from tests/conftest.py)."""

from __future__ import annotations
