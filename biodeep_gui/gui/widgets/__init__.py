"""Reusable widgets shared by the tabs (plots, pickers, viewers)."""
