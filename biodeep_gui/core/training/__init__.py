"""The one training loop, its settings, reports and run folders (both sciences)."""
