"""Conditional variational auto-encoder generator."""
