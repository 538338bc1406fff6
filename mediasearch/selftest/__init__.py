"""Checks an install can run end to end without a download: drawn photos and a tiny model."""
