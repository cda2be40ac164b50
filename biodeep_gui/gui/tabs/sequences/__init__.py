"""Tabs of the DNA-sequence workflow."""
