"""FHIR R4 import: Bundles (any type) and Bulk Data NDJSON, plain or gzip.

The package is in three parts:

- :mod:`~careweave.importers.fhir.reading`: finding the files and reading them
  as a stream of entries (gzip, NDJSON, whole documents, streamed Bundles);
- :mod:`~careweave.importers.fhir.mapper` and its
  :mod:`~careweave.importers.fhir.handlers` (one per resource type): plain
  dicts to staging rows, as documented in docs/import-mapping.md;
- :mod:`~careweave.importers.fhir.importer`: the entry point,
  :func:`import_fhir`, staging files in parallel.

Value helpers shared with the Synthea CSV importer (dates, money, codes) are in
:mod:`careweave.importers.values`.
"""

from __future__ import annotations

from careweave.importers.fhir.fields import Skip, ref_id, validation_errors
from careweave.importers.fhir.importer import import_fhir
from careweave.importers.fhir.mapper import FhirMapper
from careweave.importers.fhir.reading import expand_paths, iter_file

__all__ = [
    "FhirMapper",
    "Skip",
    "expand_paths",
    "import_fhir",
    "iter_file",
    "ref_id",
    "validation_errors",
]
