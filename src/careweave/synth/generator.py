"""The synthetic population generator behind ``careweave synth``.

People are generated in fixed-size chunks, each from its own random stream
(seeded by the seed and the chunk number), so a seed always gives the same
dataset whatever the machine, and memory stays bounded. Within a chunk
everything is vectorised with numpy; string columns are built with pyarrow.

The model, in order (docs/synthetic-population.md has every figure):

1. organisations: one health board, localities of 30,000-50,000 people,
   clusters, practices of 3,000-15,000, small areas with deprivation deciles,
   one local authority, hospitals, community and mental-health providers,
   care homes;
2. people: age and sex from the census structure (plus births during the
   span), ethnic group, small area and deprivation, two latent health factors
   (frailty, cardiometabolic) and an unobserved personal propensity to be
   admitted;
3. chronic conditions (the 19 registers) with age-, sex- and
   deprivation-dependent prevalence and shared latent factors
   (multimorbidity), each with an onset date; frailty deficits;
4. year by year: emergency admissions from each person's latent risk (age,
   conditions, frailty, deprivation, care-home residence, last year's
   admissions, personal propensity, yearly noise); deaths; readmissions;
   elective and maternity spells; A&E; outpatients; primary care; community
   and mental-health contacts; care-home admissions; reablement; home care;
5. per person over the span: medicines, observations, telehealth.

Each care setting has its module (people, conditions, hospital and spells,
primary, community, social, telehealth) around a shared core
(:mod:`careweave.synth.core`: random-draw helpers, row buffers, the
no-overlap rules and the person state); every coefficient is in
:mod:`careweave.synth.params` with its source. This module runs the year loop,
calling each setting's step in a fixed order (the order of the random draws,
so a seed always gives the same dataset), and writes the tables.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from careweave.dataset import tables as T
from careweave.dataset.io import Manifest, conform, write_manifest, write_table
from careweave.dataset.nhs_number import SYNTHETIC_RANGES, capacity, synthetic_number_ints
from careweave.errors import InputError
from careweave.synth import (
    case_management,
    community,
    hospital,
    people,
    primary,
    relationships,
    social,
    spells,
    telehealth,
)
from careweave.synth import params as P
from careweave.synth.allergies import allergies_table
from careweave.synth.care_plans import care_plans_table
from careweave.synth.conditions import condition_intercepts, events_table, sample_conditions
from careweave.synth.core import (
    NEVER,
    Arr,
    Buffers,
    Ctx,
    People,
    Period,
    Span,
    day_number,
    span_periods,
)
from careweave.synth.frailty import deficit_events
from careweave.synth.identity import identity_columns, pools
from careweave.synth.layout import Layout, build_layout
from careweave.synth.social import reablement_after_discharge
from careweave.synth.spells import DEST as _DEST
from careweave.synth.spells import end_stays_at_death
from careweave.synth.telecare import telecare_table

__all__ = [
    "CHUNK",
    "MAX_PEOPLE",
    "NEVER",
    "_DEST",
    "build_layout",
    "end_stays_at_death",
    "generate",
    "generate_chunk",
    "reablement_after_discharge",
]

#: People per chunk: fixed, so the output for a seed never depends on parallelism.
CHUNK = 50_000
#: Most people one dataset can hold: the valid NHS numbers in the synthetic ranges
#: (a stem has a valid check digit 10 times in 11), less a margin.
MAX_PEOPLE = capacity(SYNTHETIC_RANGES)

#: The required person tables and the optional ones the generator writes.
OUTPUT_TABLES = (
    *T.PERSON_TABLES,
    T.ALLERGIES,
    T.CARE_PLANS,
    T.CASE_MANAGEMENT_EPISODES,
    T.TELECARE_SERVICES,
    T.PERSON_RELATIONSHIPS,
)


def _start_state(
    rng: np.random.Generator, lo: int, hi: int, layout: Layout, span: Span
) -> tuple[people.Demography, Any, People]:
    """The chunk's people before the first period: demography, conditions, care homes."""
    d = people.sample_people(rng, lo, hi, layout, span)
    cond = sample_conditions(rng, d, span)
    dem = P.CONDITION_NAMES.index("dementia")
    homes = social.care_homes_at_start(rng, span, layout, d.loc, d.dob, d.z, cond.onset[:, dem])
    state = People(
        n=d.n,
        dob=d.dob,
        female=d.female,
        male=d.male,
        depterm=d.depterm,
        z=d.z,
        w=d.w,
        u=d.u,
        onset=cond.onset,
        in_home=homes.in_home,
        ch_start=homes.ch_start,
        care_home=homes.care_home,
        ch_nursing=homes.ch_nursing,
        ch_funded=homes.ch_funded,
        death=np.full(d.n, NEVER, dtype=np.int64),
        prev_em=np.zeros(d.n, dtype=np.int64),
        last_dis=np.full(d.n, -NEVER, dtype=np.int64),
        risk_rel=np.zeros(d.n),
        record_risk=np.zeros(d.n),
        em_rate=np.zeros(d.n),
    )
    return d, cond, state


def _year(
    rng: np.random.Generator,
    st: People,
    per: Period,
    span: Span,
    rows: Buffers,
    cm: case_management.Enrolment,
    first: bool,
) -> bool:
    """One period of every care setting, in the fixed order of the random draws.

    Returns False for the period after the span, which only draws deaths (so that
    deaths just after the span are known to palliative care)."""
    beta_em = np.array([c.emergency for c in P.CONDITIONS])
    beta_death = np.array([c.death for c in P.CONDITIONS])
    end = span.end
    case_management.enrol(cm, st, per, first)
    n_em = hospital.emergency_count(rng, st, per, beta_em)
    people.deaths(rng, st, per, beta_death, n_em)
    if per.beyond:
        return False
    per.close(st.death)
    effect = case_management.effect_on(cm, st, per, span.case_management_effect)
    em = hospital.emergency_spells(rng, st, per, n_em, end, effect)
    social.care_home_admissions(rng, st, per, em, end)
    rows.spells.add(
        person=em.idx,
        adm=em.adm,
        dis=em.dis,
        method=np.zeros(em.idx.shape[0], np.int64),
        dest=em.dest,
    )
    hospital.ae_attendances(rng, st, per, em, rows.ae)
    hospital.planned_spells(rng, st, per, em, rows.spells)
    hospital.outpatients(rng, st, per, rows.op)
    primary.consultations(rng, st, per, rows.pcc)
    community.community_contacts(rng, st, per, rows.comm)
    community.mental_health_contacts(rng, st, per, rows.mh)
    primary.measurements(rng, per, rows.obs)
    primary.acute_prescriptions(rng, per, rows.acute_meds)
    social.reablement_offers(rng, st, per, em, end, rows.reab)
    social.new_home_care(rng, st, per, rows.svc)
    social.other_assessments(rng, st, per, rows.assess)
    return True


def generate_chunk(
    ci: int, lo: int, hi: int, nhs: Arr, layout: Layout, span: Span, seed: int
) -> dict[str, pa.Table]:
    """Every table's rows for people ``lo``..``hi - 1`` (chunk number ``ci``)."""
    rng = np.random.default_rng([seed, 1, ci])
    start, end = span.start, span.end
    d, cond, st = _start_state(rng, lo, hi, layout, span)
    rows = Buffers()
    cm = case_management.Enrolment.empty(seed, ci, d.n)
    periods = [*span.periods, (end + 1, end + 365)]
    for k, (p0, p1) in enumerate(periods):
        per = Period.of(p0, p1, st, beyond=k == len(periods) - 1)
        if not _year(rng, st, per, span, rows, cm, first=k == 0):
            break
    ctx = Ctx(
        ci=ci,
        rng=rng,
        n=d.n,
        start=start,
        end=end,
        dob=st.dob,
        death=np.where(st.death <= end, st.death, NEVER),
        future_death=st.death,
        onset=st.onset,
        ckd_stage=cond.ckd_stage,
        z=st.z,
        female=st.female,
        prac=d.prac,
        loc=d.loc,
        layout=layout,
        in_home=st.in_home,
        ch_start=st.ch_start,
        care_home=st.care_home,
        ch_nursing=st.ch_nursing,
        ch_funded=st.ch_funded,
        seed=seed,
    )
    out = _tables(ctx, d, nhs, rows, seed)
    out["case_management_episodes"] = case_management.case_management_table(ctx, cm)
    return out


def _tables(
    ctx: Ctx, d: people.Demography, nhs: Arr, rows: Buffers, seed: int
) -> dict[str, pa.Table]:
    """Build every table from the buffers, in the fixed order of their random draws."""
    out: dict[str, pa.Table] = {}
    out["people"] = people.people_table(
        ctx, nhs, d.eth, d.female, d.lsoa, d.area_unknown, d.decile, d.born_later
    )
    for name, column in identity_columns(
        seed, ctx.ci, ctx.dob, d.female, d.eth, d.lsoa, ctx.end
    ).items():
        out["people"] = out["people"].append_column(name, column)
    couples = relationships.form_couples(ctx, d.lsoa)
    jones = relationships.pick_joneses(ctx, couples)
    out["people"] = relationships.household_columns(ctx, out["people"], couples, jones)
    ctx.nhs = out["people"].column("nhs_number").combine_chunks()
    out["person_relationships"] = relationships.relationships_table(ctx, couples, jones)
    out["primary_care_events"] = pa.concat_tables([events_table(ctx), deficit_events(ctx)])
    out["hospital_spells"] = spells.spells_table(ctx, rows.spells)
    out["ae_attendances"] = hospital.ae_table(ctx, rows.ae)
    out["outpatient_appointments"] = hospital.op_table(ctx, rows.op)
    out["primary_care_contacts"] = primary.pcc_table(ctx, rows.pcc)
    out["community_contacts"] = community.community_table(ctx, rows.comm)
    out["mental_health_contacts"] = community.mh_table(ctx, rows.mh)
    out["observations"] = primary.obs_table(ctx, rows.obs)
    out["medications"] = primary.meds_table(ctx, rows.acute_meds)
    out.update(
        social.social_tables(
            ctx, rows.reab, rows.svc, rows.assess, out["hospital_spells"], rows.spells
        )
    )
    out["telehealth_readings"] = telehealth.telehealth_table(ctx)
    out["allergies"] = allergies_table(ctx, seed)
    out["care_plans"] = care_plans_table(ctx, seed)
    out["telecare_services"] = telecare_table(
        ctx, out["social_care_services"], out["telehealth_readings"]
    )
    return out


# --- Driver -------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _workers(n_chunks: int, wanted: int | None) -> int:
    """Worker processes: ``wanted``, else one per core (at most 2); never more than chunks."""
    if wanted is None:
        wanted = min(2, os.cpu_count() or 1)
    return max(1, min(wanted, n_chunks))


def _chunk_job(
    ci: int, people: int, numbers: Arr, layout: Layout, span: Span, seed: int
) -> dict[str, pa.Table]:
    lo, hi = ci * CHUNK, min(people, (ci + 1) * CHUNK)
    parts = generate_chunk(ci, lo, hi, numbers[lo:hi], layout, span, seed)
    return {t.name: conform(t, parts[t.name]) for t in OUTPUT_TABLES}


def _init_worker(
    people: int, numbers: Arr, layout: Layout, span: Span, seed: int, spool: str
) -> None:
    _WORKER.update(people=people, numbers=numbers, layout=layout, span=span, seed=seed, spool=spool)


def _worker_chunk(ci: int) -> dict[str, str]:
    """Generate chunk ``ci`` and hand it over as uncompressed Arrow IPC files in the spool
    directory (a memory copy; much cheaper than pickling through a pipe)."""
    w = _WORKER
    parts = _chunk_job(ci, w["people"], w["numbers"], w["layout"], w["span"], w["seed"])
    paths: dict[str, str] = {}
    for name, table in parts.items():
        path = os.path.join(w["spool"], f"chunk-{ci:05d}-{name}.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        paths[name] = path
    return paths


def _write_parts(writers: dict[str, pq.ParquetWriter], parts: dict[str, pa.Table]) -> None:
    for name, table in parts.items():
        writers[name].write_table(table)


def _write_spooled(writers: dict[str, pq.ParquetWriter], paths: dict[str, str]) -> None:
    for name, path in paths.items():
        with pa.memory_map(path) as source:
            writers[name].write_table(pa.ipc.open_file(source).read_all())
        os.remove(path)


def _spool_dir(out: Path) -> str:
    """A scratch directory for chunk hand-over: in shared memory when there is room."""
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 4 * 1024**3:
        return tempfile.mkdtemp(prefix="careweave-synth-", dir=shm)
    return tempfile.mkdtemp(prefix=".careweave-synth-", dir=out)


def generate(
    people: int,
    seed: int,
    start: dt.date,
    end: dt.date,
    out: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    case_management_effect: float = 0.0,
) -> Manifest:
    """Write a synthetic dataset of ``people`` people over ``start``..``end`` to ``out``.

    Deterministic for ``seed``, whatever the number of ``workers`` (processes; default
    one per core, at most 2; the CLI passes CAREWEAVE_SYNTH_WORKERS from the settings). Every required canonical table is written as
    ``<table>.parquet`` (row groups of ``CHUNK`` people), then ``manifest.json``
    (source ``synth``). Returns the manifest. ``progress``, if given, is called as
    ``progress(chunks_done, chunks)`` before the first chunk and after each (the CLI
    draws a bar with it; nothing here prints).

    ``case_management_effect`` is the relative change of an enrolled person's
    emergency-admission rate while enrolled in case management (0, the default:
    no effect, and then the dataset is the same as without it; -0.2: 20% fewer).
    """
    if people < 1:
        raise InputError(f"--people: must be at least 1, got {people}")
    if end < start:
        raise InputError(f"--end: {end} is before --start {start}")
    if people > MAX_PEOPLE:
        raise InputError(
            f"--people: at most {MAX_PEOPLE:,} people (the synthetic NHS-number ranges "
            f"hold no more), got {people:,}"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    layout = build_layout(people, seed)
    if not case_management_effect > -1:
        raise InputError(
            "--case-management-effect: must be greater than -1 (a relative change of the "
            f"emergency-admission rate: -0.2 is 20% fewer), got {case_management_effect}"
        )
    span = Span(
        day_number(start), day_number(end), span_periods(start, end), case_management_effect
    )
    numbers = synthetic_number_ints(people)
    condition_intercepts()
    pools(seed)  # Faker pools, built once before the workers fork
    n_chunks = -(-people // CHUNK)
    writers: dict[str, pq.ParquetWriter] = {}
    tmp_paths: dict[str, Path] = {}
    for t in OUTPUT_TABLES:
        tmp = out / f".{t.name}.parquet.tmp"
        tmp_paths[t.name] = tmp
        writers[t.name] = pq.ParquetWriter(
            tmp, t.arrow_schema.remove_metadata(), compression="zstd"
        )

    report = progress or (lambda done, total: None)
    done = 0

    def advance() -> None:
        nonlocal done
        done += 1
        report(done, n_chunks)

    report(0, n_chunks)

    workers = _workers(n_chunks, workers)
    try:
        if workers <= 1:
            for ci in range(n_chunks):
                _write_parts(writers, _chunk_job(ci, people, numbers, layout, span, seed))
                advance()
        else:
            import concurrent.futures as cf
            import multiprocessing as mp
            import shutil

            spool = _spool_dir(out)
            try:
                with cf.ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=mp.get_context("fork"),
                    initializer=_init_worker,
                    initargs=(people, numbers, layout, span, seed, spool),
                ) as pool:
                    pending: list[cf.Future[dict[str, str]]] = []
                    next_ci = 0
                    while next_ci < n_chunks or pending:
                        while next_ci < n_chunks and len(pending) < workers + 1:
                            pending.append(pool.submit(_worker_chunk, next_ci))
                            next_ci += 1
                        _write_spooled(writers, pending.pop(0).result())
                        advance()
            finally:
                shutil.rmtree(spool, ignore_errors=True)
    finally:
        for wr in writers.values():
            wr.close()
    for t in OUTPUT_TABLES:
        os.replace(tmp_paths[t.name], out / f"{t.name}.parquet")
    write_table(out, T.ORGANISATIONS, layout.organisations)
    manifest = Manifest(
        source="synth",
        span_start=start,
        span_end=end,
        parameters={
            "people": people,
            "seed": seed,
            "case_management_effect": case_management_effect,
            "generator": "careweave.synth/1",
            "chunk": CHUNK,
        },
    )
    write_manifest(out, manifest)
    return manifest
