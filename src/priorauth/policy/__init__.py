"""Policies as data: pydantic models, the YAML loader and the version registry."""
