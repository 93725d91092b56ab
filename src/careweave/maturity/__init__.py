"""The maturity matrices as data: shipped TOML files with provenance, and their loader.

A core package (beside ``careweave.dataset``): the operational side (self-assessments
in ``careweave.care.maturity``) and the analytics side may both read the matrices.
"""
