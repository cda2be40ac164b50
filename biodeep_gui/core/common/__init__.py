"""Shared by both sciences: errors, file IO, paths, config IO, devices, metrics, system (process memory)."""
