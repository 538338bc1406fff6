"""Helpers shared by the test suite: synthetic photos and a tiny trained CLIP model."""
