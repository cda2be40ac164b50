"""Headless science of BioDeep: pure Python + numpy + torch. Never imports Qt (checked by tests and import-linter)."""
