"""Synthetic UK-like population: the embedded default dataset (careweave synth).

Public API: :func:`generate` (see :mod:`careweave.synth.generator`).
"""

from careweave.synth.generator import generate

__all__ = ["generate"]
