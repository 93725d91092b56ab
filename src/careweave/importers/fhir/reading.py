"""Reading FHIR files: discovery, gzip, NDJSON, whole documents and streaming.

The hot path parses with orjson and yields plain dicts: no model objects per
resource. Files are read as a stream of entries:

- NDJSON (``.ndjson``/``.jsonl``, or any file whose first line is a whole
  non-Bundle resource): line by line, one resource per line; a bad line is a
  problem for that line and the next line is read as usual.
- A JSON document (a Bundle, or one resource): up to :data:`WHOLE_FILE_LIMIT`
  bytes it is parsed in one go with orjson; larger files are streamed entry by
  entry with ijson's C backend, so memory stays flat for multi-gigabyte Bundles.
  A document orjson rejects (malformed, truncated) is re-read with ijson to
  keep every entry before the fault.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import msgspec
import orjson

from careweave.importers.report import ImportReport

#: JSON documents up to this size (bytes, as stored) are parsed whole.
WHOLE_FILE_LIMIT = 64 * 1024 * 1024
GZIP_WHOLE_FILE_LIMIT = 8 * 1024 * 1024

JSON_SUFFIXES = (".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz", ".jsonl.gz")
NDJSON_SUFFIXES = (".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz")

Resource = dict[str, Any]
#: (entry index, resource, the entry's fullUrl or None).
Entry = tuple[int, Resource, str | None]


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files to read: each file as given, each directory's JSON/NDJSON files (recursively)."""
    from careweave.errors import InputError

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(JSON_SUFFIXES))
            )
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    return out


def _open(path: Path) -> IO[bytes]:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


class _Tracked:
    """A file opened for reading (gunzipped when it is gzip) that knows its stored position."""

    def __init__(self, path: Path) -> None:
        self.raw = path.open("rb")
        gz = self.raw.read(2) == b"\x1f\x8b"
        self.raw.seek(0)
        self.stream: IO[bytes] = (
            cast(IO[bytes], gzip.GzipFile(fileobj=self.raw, mode="rb")) if gz else self.raw
        )

    def __enter__(self) -> _Tracked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.close()
        self.raw.close()

    def position(self) -> int:
        return self.raw.tell()


Tick = Callable[[int], None]


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as probe:
        return probe.read(2) == b"\x1f\x8b"


def _looks_ndjson(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(NDJSON_SUFFIXES):
        return True
    if name.endswith((".json", ".json.gz")):
        return False
    try:
        with _open(path) as f:
            first = f.readline(16 * 1024 * 1024)
        doc = orjson.loads(first)
    except (orjson.JSONDecodeError, OSError, EOFError, zlib.error):
        return False
    return isinstance(doc, dict) and doc.get("resourceType") != "Bundle"


_READ_ERRORS = (OSError, EOFError, zlib.error)


def iter_file(
    path: Path, name: str, report: ImportReport, tick: Tick | None = None
) -> Iterator[Entry]:
    """Every (entry index, resource, fullUrl) in one file; problems go to ``report``.

    ``tick`` is told, now and then, how many stored bytes of a large file have been read.
    """
    if _looks_ndjson(path):
        return _iter_ndjson(path, name, report, tick)
    return _iter_document(path, name, report, tick)


def _iter_ndjson(
    path: Path, name: str, report: ImportReport, tick: Tick | None = None
) -> Iterator[Entry]:
    line_no = 0
    try:
        with _Tracked(path) as tracked:
            for line_no, line in enumerate(tracked.stream, 1):
                if tick is not None and line_no & 8191 == 0:
                    tick(tracked.position())
                if not line.strip():
                    continue
                try:
                    doc = orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    kind = "truncated" if not line.endswith(b"\n") else "malformed_json"
                    report.problem(name, line_no, kind, f"line {line_no}: not JSON ({e})")
                    continue
                if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
                    for _, res, full in _bundle_entries(doc, name, line_no, report):
                        yield line_no, res, full
                elif isinstance(doc, dict):
                    yield line_no, doc, None
                else:
                    report.problem(name, line_no, "not_a_resource", "line is not a JSON object")
    except _READ_ERRORS as e:
        report.problem(name, line_no + 1, "truncated", f"file ends early or is corrupt ({e})")


def _bundle_entries(
    doc: Resource, name: str, at: int | None, report: ImportReport
) -> Iterator[Entry]:
    entries = doc.get("entry") or []
    if not isinstance(entries, list):
        report.problem(name, at, "malformed_bundle", "Bundle.entry is not a list")
        return
    for i, entry in enumerate(entries):
        res = _entry_resource(entry, name, i if at is None else at, report)
        if res is not None:
            yield i if at is None else at, res, entry.get("fullUrl")


def _entry_resource(entry: Any, name: str, i: int, report: ImportReport) -> Resource | None:
    if not isinstance(entry, dict):
        report.problem(name, i, "malformed_bundle", f"entry {i} is not an object")
        return None
    res = entry.get("resource")
    if not isinstance(res, dict):
        method = (entry.get("request") or {}).get("method", "")
        report.problem(
            name,
            i,
            "no_resource",
            f"entry {i} has no resource{f' ({method} request)' if method else ''}",
        )
        return None
    return res


def _iter_document(
    path: Path, name: str, report: ImportReport, tick: Tick | None = None
) -> Iterator[Entry]:
    size = path.stat().st_size
    gz = _is_gzip(path)
    if size <= (GZIP_WHOLE_FILE_LIMIT if gz else WHOLE_FILE_LIMIT):
        try:
            with _open(path) as f:
                data = f.read()
        except _READ_ERRORS as e:
            report.problem(name, None, "truncated", f"file ends early or is corrupt ({e})")
            return
        fast = _fast_entries(data)
        if fast is not None:
            yield from _iter_fast(fast, data, name, report)
            return
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            yield from _stream_entries(io.BytesIO(data), name, report)
            return
        if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
            yield from _bundle_entries(doc, name, None, report)
        elif isinstance(doc, dict):
            yield 0, doc, None
        elif isinstance(doc, list):
            for i, item in enumerate(doc):
                if isinstance(item, dict):
                    yield i, item, None
                else:
                    report.problem(name, i, "not_a_resource", f"item {i} is not a JSON object")
        else:
            report.problem(
                name, None, "not_a_resource", "the file is not a FHIR resource or Bundle"
            )
        return
    with _Tracked(path) as tracked:
        yield from _stream_entries(tracked.stream, name, report, tick, tracked.position)


# ----------------------------------------------------------- fast path for Bundles
#
# Parsing a whole Bundle into dicts at once is several times slower than parsing
# it resource by resource (the whole document's objects no longer fit in the CPU
# caches). msgspec splits the document into its entries without building
# anything (``Raw`` spans of the original bytes); orjson then parses each
# resource just before it is mapped, so the resources are the same dicts as
# before. Anything unusual (a shape or field outside the FHIR Bundle/entry
# structure, invalid UTF-8, a value orjson rejects) falls back to the general
# path, which handles and reports it as before.

_RAW = msgspec.Raw()


class _FastEntry(msgspec.Struct, forbid_unknown_fields=True):
    # Decoded (and so checked like orjson would check them) except the resource.
    fullUrl: Any = None
    resource: msgspec.Raw = _RAW
    request: Any = None
    response: Any = None
    search: Any = None
    link: Any = None
    id: Any = None
    extension: Any = None
    modifierExtension: Any = None


class _FastBundle(msgspec.Struct, forbid_unknown_fields=True):
    resourceType: Any = None
    id: Any = None
    meta: Any = None
    implicitRules: Any = None
    language: Any = None
    identifier: Any = None
    type: Any = None
    timestamp: Any = None
    total: Any = None
    link: Any = None
    entry: list[_FastEntry] = []
    signature: Any = None
    issues: Any = None


_FAST_DECODER = msgspec.json.Decoder(_FastBundle)


def _fast_entries(data: bytes) -> list[_FastEntry] | None:
    """The entries of a well-formed Bundle; None for anything else."""
    if not data.isascii():
        try:
            data.decode("utf-8")  # msgspec does not check the UTF-8 of what it skips
        except UnicodeDecodeError:
            return None
    try:
        doc = _FAST_DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    if doc.resourceType != "Bundle":
        return None
    for e in doc.entry:
        if not e.resource or memoryview(e.resource)[0] != 0x7B:  # "{": an object
            return None
    return doc.entry


def _iter_fast(
    entries: list[_FastEntry], data: bytes, name: str, report: ImportReport
) -> Iterator[Entry]:
    for i, e in enumerate(entries):
        try:
            res = orjson.loads(memoryview(e.resource))
        except orjson.JSONDecodeError:
            # orjson would have rejected the whole document: from here on, read it as the
            # general path does (ijson), which yields the same entries before this one.
            for j, item in enumerate(_stream_entries(io.BytesIO(data), name, report)):
                if j >= i:
                    yield item
            return
        yield i, res, e.fullUrl


def _ijson_backend() -> Any:
    """ijson's C backend (yajl2_c, in the ijson wheels); the default one if it is missing."""
    import ijson

    try:
        return ijson.get_backend("yajl2_c")
    except ImportError:
        return ijson


def _stream_entries(
    f: IO[bytes],
    name: str,
    report: ImportReport,
    tick: Tick | None = None,
    position: Callable[[], int] | None = None,
) -> Iterator[Entry]:
    """Bundle entries one at a time (ijson, C backend); stops at the first fault."""
    import ijson

    backend = _ijson_backend()
    i = -1
    try:
        for i, entry in enumerate(backend.items(f, "entry.item", use_float=True)):
            if tick is not None and position is not None and i & 2047 == 0:
                tick(position())
            res = _entry_resource(entry, name, i, report)
            if res is not None:
                yield i, res, entry.get("fullUrl")
    except ijson.common.IncompleteJSONError as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else "incomplete JSON"
        kind = (
            "truncated"
            if "premature EOF" in msg or "incomplete" in msg.lower()
            else "malformed_json"
        )
        report.problem(
            name,
            i + 1,
            kind,
            f"JSON breaks at entry {i + 1} ({msg}); entries before it were imported, "
            "the rest of the file could not be read",
        )
    except (ijson.common.JSONError, *_READ_ERRORS) as e:
        report.problem(
            name,
            i + 1,
            "malformed_json",
            f"JSON breaks at entry {i + 1} ({e}); entries before it were imported",
        )
    if i == -1 and report.problems_by_file[name] == 0:
        report.problem(name, None, "not_a_resource", "no Bundle entries found")
