"""Counts in words, shared by the core's descriptions and the window: '1 place', '3 places', '1,200 sites'."""
from __future__ import annotations


def count_words(n: int, noun: str, plural: str = "") -> str:
    """``n`` with its noun in the right number (``plural`` when the plural is not noun + 's')."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
