"""Conditional DCGAN generator (and the per-class DCGAN variant)."""
