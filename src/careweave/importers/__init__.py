"""Importers from real-world formats (FHIR R4, Synthea CSV) into the canonical dataset."""
