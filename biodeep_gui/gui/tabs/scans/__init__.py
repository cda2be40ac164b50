"""Tabs of the brain-scan workflow."""
