"""Validation, quarantine and atomic, idempotent loading of dataset directories into the warehouse (careweave load)."""
