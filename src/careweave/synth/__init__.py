"""Synthetic UK-like population: the embedded default dataset (careweave synth)."""
