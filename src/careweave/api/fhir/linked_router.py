"""Read and search of the linked record (Encounter, Condition, Observation,
MedicationRequest, AllergyIntolerance) from the warehouse, and of its social-care
EpisodeOfCare for ``episodes.py`` (which serves them with the register's: ``find``).

Access is the Patient read's: ``ctx.person(nhs, "person", "read")`` checks the role, the
legitimate relationship (objections, break-glass) and audits the read; a refusal is a
403 OperationOutcome. A search is about one person (``patient`` or ``subject`` is
required): the warehouse is a separate database, so a search across everyone the caller
may see is a Bulk export (``Group/[id]/$export``), not a search.

The warehouse is the DuckDB file the server was started with (``careweave serve
--warehouse``, read through the workbench's shared read-only reader); without one the
searches are empty and reads are 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from fastapi import APIRouter, Request

from careweave.api.deps import Context
from careweave.api.fhir import linked, linked_social
from careweave.api.fhir.capability import Served, register
from careweave.api.fhir.outcome import FhirError, FhirResponse
from careweave.api.fhir.resources import validated
from careweave.api.fhir.search import Search, bundle, date_range, parse, reference
from careweave.dataset import fhir_vocabulary as vocab

router = APIRouter()
Params = dict[str, Any]


class WarehouseCursor(Protocol):
    def execute(self, sql: str, params: Any = None) -> Any: ...


class WarehouseReader(Protocol):
    def cursor(self) -> AbstractContextManager[WarehouseCursor | None]: ...


@contextmanager
def warehouse(request: Request) -> Iterator[WarehouseCursor | None]:
    """The server's shared read-only warehouse cursor, or None without a warehouse."""
    reader: WarehouseReader | None = getattr(request.app.state, "careweave_warehouse_reader", None)
    if reader is None:
        yield None
        return
    with reader.cursor() as cur:
        yield cur


def tables(cur: WarehouseCursor) -> set[str]:
    return {
        r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def rows(cur: WarehouseCursor, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    result = cur.execute(sql, used)
    names = [d[0] for d in result.description]
    return [dict(zip(names, r, strict=True)) for r in result.fetchall()]


def build(kind: str, src: linked.Source, row: dict[str, Any]) -> dict[str, Any]:
    return validated(linked.resource(src, row))


def _valid_id(value: str) -> bool:
    return 0 < len(value) <= 64 and all(c.isalnum() or c in "-." for c in value)


def read(request: Request, ctx: Any, kind: str, rid: str) -> FhirResponse:
    if not _valid_id(rid):
        raise FhirError(404, f"{kind}/{rid[:64]}: no such resource")
    if kind == "Observation" and rid.startswith("telehealth-"):
        from careweave.api.fhir.writes import read_reading  # writes imports the routers

        reading = read_reading(ctx, rid)
        if reading is None:
            raise FhirError(404, f"{kind}/{rid}: no such resource")
        return FhirResponse(reading)
    with warehouse(request) as cur:
        found: tuple[linked.Source, dict[str, Any]] | None = None
        if cur is not None:
            for src in linked.sources(kind, tables(cur)):
                hit = rows(cur, linked.select_sql(src) + " WHERE t.id = $id", {"id": rid})
                if hit:
                    found = (src, hit[0])
                    break
        if found is None:
            raise FhirError(404, f"{kind}/{rid}: no such resource")
        src, row = found
        ctx.person(str(row["nhs_number"]), "person", "read")
        return FhirResponse(build(kind, src, row))


Code = tuple[str | None, str | None, str]


def _codes(s: Search) -> list[Code] | None:
    """``code=[system|]code,...`` as (the system sent or None for any, its canonical
    system or None, code). None without ``code``."""
    value = s.one("code")
    if value is None:
        return None
    out: list[Code] = []
    for v in value.split(","):
        system, bar, code = v.rpartition("|")
        if bar and system:
            out.append((system, vocab.SYSTEMS.get(system), code))
        else:
            out.append((None, None, code))
    return out


def _code_filter(src: linked.Source, codes: list[Code]) -> tuple[str, Params]:
    """The codes as SQL on ``src``: its code columns, its Careweave code (social-care
    assessments) or (a table of measures, telehealth readings) the measures the LOINC codes
    name. A system Careweave never holds there matches nothing."""
    terms: list[str] = []
    params: Params = {}
    for i, (sent, system, code) in enumerate(codes):
        if src.measure_codes is not None:
            measure = src.measure_codes.get(code)
            if measure is not None and (sent is None or system == "loinc"):
                terms.append(f"measure = $code{i}")
                params[f"code{i}"] = measure
            continue
        if src.local_code is not None:
            uri, column = src.local_code
            if sent in (None, uri):
                terms.append(f"{column} = $code{i}")
                params[f"code{i}"] = code
            continue
        if system is not None:
            terms.append(f"(code = $code{i} AND code_system = $sys{i})")
            params[f"sys{i}"] = system
        elif sent is None:
            terms.append(f"code = $code{i}")
        else:
            continue
        params[f"code{i}"] = code
    if not terms:
        return " AND false", {}
    return " AND (" + " OR ".join(terms) + ")", params


def _date_sql(column: str, values: list[str], name: str, key: str) -> tuple[str, Params]:
    """Date search values on ``column`` (compared as a date: a reading's instant too)."""
    sql = ""
    params: Params = {}
    col = f"CAST({column} AS DATE)"
    for i, value in enumerate(values):
        prefix, first, last = date_range(name, value)
        a, b = f"${key}{i}a", f"${key}{i}b"
        sql += {
            "eq": f" AND {col} >= {a} AND {col} <= {b}",
            "ge": f" AND {col} >= {a}",
            "gt": f" AND {col} > {b}",
            "le": f" AND {col} <= {b}",
            "lt": f" AND {col} < {a}",
        }[prefix]
        params |= {f"{key}{i}a": first, f"{key}{i}b": last}
    return sql, params


def _tokens(s: Search, name: str) -> list[str] | None:
    value = s.one(name)
    return None if value is None else [v.rpartition("|")[2] for v in value.split(",")]


def _wanted(kind: str, s: Search, src: linked.Source) -> tuple[bool, str, Params]:
    """Whether ``src`` can match the search, and its filters beyond person and date."""
    sql = ""
    params: Params = {}
    settings = _tokens(s, "type") if kind == "Encounter" else None
    if settings is not None and src.setting not in settings:
        return False, "", {}
    categories = _tokens(s, "category") if kind == "Observation" else None
    if categories is not None and src.table not in {
        linked.OBSERVATION_CATEGORY.get(c) for c in categories
    }:
        return False, "", {}
    if kind == "EpisodeOfCare":
        types = _tokens(s, "type")
        if types is not None and src.setting not in types:
            if not src.type_sql:
                return False, "", {}
            sql += f" AND ({src.type_sql}) IN (SELECT unnest($types))"
            params["types"] = types
        statuses = _tokens(s, "status")
        if statuses is not None:
            sql += f" AND ({linked_social.EPISODE_STATUS_SQL}) IN (SELECT unnest($statuses))"
            params |= {"statuses": statuses, "today": linked_social.today()}
    classes = _tokens(s, "class") if kind == "Encounter" else None
    if classes is not None:
        sql += f" AND ({src.class_sql}) IN (SELECT unnest($classes))"
        params["classes"] = classes
    codes = _codes(s) if kind not in ("Encounter", "EpisodeOfCare") else None
    if codes is not None:
        code_sql, code_params = _code_filter(src, codes)
        sql += code_sql
        params |= code_params
    return True, sql, params


def find(
    request: Request, kind: str, s: Search, nhs: str, count: int, offset: int
) -> tuple[list[dict[str, Any]], bool]:
    """The warehouse's ``kind`` resources about ``nhs`` matching ``s`` (by date, then id),
    ``count`` of them from ``offset``, and whether there are more. The caller has checked
    the relationship with the person."""
    ids = s.one("_id")
    date_name = linked.DATE_PARAM[kind]
    updated_sql, updated_params = _date_sql(
        "loaded_at", s.params.get("_lastUpdated", []), "_lastUpdated", "u"
    )
    found: list[dict[str, Any]] = []
    more = False
    with warehouse(request) as cur:
        if cur is not None:
            parts: list[str] = []
            params: Params = {"nhs": nhs}
            srcs = linked.sources(kind, tables(cur))
            for n, src in enumerate(srcs):
                ok, where_more, more_params = _wanted(kind, s, src)
                if not ok:
                    continue
                date_sql, date_params = _date_sql(
                    src.date, s.params.get(date_name, []), date_name, "d"
                )
                where = " WHERE nhs_number = $nhs" + date_sql + where_more
                params |= date_params | more_params
                if ids is not None:
                    where += " AND id IN (SELECT unnest($ids))"
                    params["ids"] = ids.split(",")
                if updated_sql:
                    where += (
                        " AND _batch_id IN (SELECT batch_id FROM _load_batches"
                        f" WHERE true{updated_sql})"
                    )
                    params |= updated_params
                parts.append(
                    f"SELECT {n} AS src, id, {src.date}::DATE AS d FROM {src.table}{where}"
                )
            if parts:
                sql = (
                    " UNION ALL ".join(parts) + f" ORDER BY d, id LIMIT {count + 1} OFFSET {offset}"
                )
                page = rows(cur, sql, params)
                more = len(page) > count
                page = page[:count]
                by_src: dict[int, list[str]] = {}
                for r in page:
                    by_src.setdefault(int(r["src"]), []).append(str(r["id"]))
                built: dict[str, dict[str, Any]] = {}
                for n, wanted in by_src.items():
                    src = srcs[n]
                    for row in rows(
                        cur,
                        linked.select_sql(src) + " WHERE t.id IN (SELECT unnest($ids))",
                        {"ids": wanted},
                    ):
                        built[str(row["id"])] = build(kind, src, row)
                found = [built[str(r["id"])] for r in page if str(r["id"]) in built]
    return found, more


def search(request: Request, ctx: Any, kind: str) -> FhirResponse:
    s = parse(kind, request)
    ctx.require("person", "read")
    subject = [reference(v, "Patient") for n in ("patient", "subject") for v in s.params.get(n, [])]
    if not subject:
        raise FhirError(
            400,
            f"patient: required (a {kind} search is about one person; "
            "for a cohort use Group/[id]/$export)",
        )
    if len(set(subject)) > 1:
        return FhirResponse(bundle(request, kind, [], s, False))
    nhs = subject[0]
    ctx.person(nhs, "person", "read")  # 403 without a relationship; audited
    found, more = find(request, kind, s, nhs, s.count, s.offset)
    return FhirResponse(bundle(request, kind, found, s, more))


def _routes(kind: str) -> None:
    def do_read(request: Request, rid: str, ctx: Context) -> FhirResponse:
        return read(request, ctx, kind, rid)

    def do_search(request: Request, ctx: Context) -> FhirResponse:
        return search(request, ctx, kind)

    router.add_api_route(
        f"/{kind}/{{rid}}", do_read, methods=["GET"], summary=f"{kind} read (warehouse)"
    )
    router.add_api_route(
        f"/{kind}", do_search, methods=["GET"], summary=f"{kind} search (warehouse)"
    )


#: types whose routes are another module's, which serves the warehouse's rows with the
#: store's (EpisodeOfCare: the case-management register and social care, ``episodes.py``).
SHARED = ("EpisodeOfCare",)
for _kind in linked.SOURCES:
    if _kind not in SHARED:
        _routes(_kind)


def add_routes(parent: APIRouter) -> None:
    """The linked record's routes under ``parent`` (``/fhir``), declared in the capability."""
    parent.include_router(router)
    for kind, params in linked.SEARCH.items():
        register(kind, Served(("read", "search-type"), params, profile=linked.PROFILES[kind]))
