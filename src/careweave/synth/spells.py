"""The hospital spells table: discharges cut at death, diagnoses (primary from the
person's conditions or by age group, secondary from chronic conditions and
frailty), specialty."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from careweave.synth import codes as C
from careweave.synth import params as P
from careweave.synth.core import Arr, Ctx, Rows, Vocab, choose, dates, row_ids, take
from careweave.synth.params import care as K

DEST = ("home", "care_home", "other_hospital", "died", "other")


METHOD = ("emergency", "elective", "maternity")


def end_stays_at_death(adm: Arr, dis: Arr, dest: Arr, death: Arr) -> tuple[Arr, Arr]:
    """Discharge days and destinations with every stay ended by a death during it.

    A stay never outlives the patient: when the person dies between admission and
    the planned discharge, the spell ends on the day of death, destination "died".
    (Found by the loader's date_after_death rule on spells crossing a year end.)
    """
    died_in = (dis > death) & (adm <= death)
    return np.where(died_in, death, dis), np.where(died_in, DEST.index("died"), dest)


def spells_table(ctx: Ctx, rows: Rows) -> pa.Table:
    rng = ctx.rng
    person = rows.get("person")
    adm = rows.get("adm")
    dis = rows.get("dis")
    method = rows.get("method")
    dest = rows.get("dest")
    dis, dest = end_stays_at_death(adm, dis, dest, ctx.death[person])
    m = person.shape[0]
    age = ctx.age_at(person, adm)
    vocab = Vocab()
    active = ctx.onset[person] <= adm[:, None]
    primary, elective = _primary_diagnosis(rng, vocab, method, age, active)
    spec_vocab, spec = _specialty(rng, vocab, primary, method, age, elective)
    secondary = _secondary_diagnoses(rng, ctx, vocab, person, method, age, active, primary)
    open_spell = dis > ctx.end
    ready = discharge_ready(ctx, person, adm, dis, method, dest, age, open_spell)
    return pa.table(
        {
            "id": row_ids("APC", ctx.ci, m),
            "nhs_number": ctx.person(person),
            "provider_id": ctx.hospital(person),
            "admission_date": dates(adm),
            "discharge_date": dates(dis, open_spell),
            "admission_method": take(METHOD, method),
            "primary_diagnosis": take(vocab.codes, primary),
            "secondary_diagnoses": secondary,
            "specialty": take(spec_vocab, spec),
            "discharge_destination": pa.array(
                take(DEST, dest).to_numpy(zero_copy_only=False), pa.string(), mask=open_spell
            ),
            "cost": pa.nulls(m, pa.float64()),
            "discharge_ready_date": dates(ready, open_spell | (dest == DEST.index("died"))),
        }
    )


#: Sub-stream of the chunk's discharge-delay draws (seed, DELAY_STREAM, chunk).
DELAY_STREAM = 0xDD


def discharge_ready(
    ctx: Ctx,
    person: Arr,
    adm: Arr,
    dis: Arr,
    method: Arr,
    dest: Arr,
    age: Arr,
    open_spell: Arr,
) -> Arr:
    """Discharge ready day of each spell: the discharge day, except for older people's
    emergency stays that waited after being ready (see ``params.care.DISCHARGE_DELAY``).
    Meaningless (null in the table) for stays that ended in death or are still open."""
    d = K.DISCHARGE_DELAY
    rng = np.random.default_rng([ctx.seed, DELAY_STREAM, ctx.ci])
    m = person.shape[0]
    stay = dis - adm
    eligible = (
        (method == 0)
        & (age >= d.min_age)
        & (dest != DEST.index("died"))
        & ~open_spell
        & (stay >= d.min_stay)
    )
    share = np.where(age >= d.old_age, d.share_80, d.share_65)
    share = share + np.where(dest == DEST.index("care_home"), d.care_home_extra, 0.0)
    delayed = eligible & (rng.random(m) < share)
    delay: Arr = np.asarray(rng.geometric(1 / d.mean_days, m))
    delay = delay + np.where(
        rng.random(m) < d.long_share, rng.geometric(1 / d.long_mean_days, m), 0
    )
    delay = np.minimum(delay, stay)
    return np.asarray(np.where(delayed, dis - delay, dis))


def _padded(tables: list[Arr]) -> tuple[Arr, Arr]:
    """Code-index tables as one zero-padded matrix and their lengths (at least 1)."""
    pad = np.zeros((len(tables), max(t.shape[0] for t in tables)), dtype=np.int64)
    lengths = np.ones(len(tables), dtype=np.int64)
    for j, t in enumerate(tables):
        if t.shape[0]:
            pad[j, : t.shape[0]] = t
            lengths[j] = t.shape[0]
    return pad, lengths


def _primary_diagnosis(
    rng: np.random.Generator, vocab: Vocab, method: Arr, age: Arr, active: Arr
) -> tuple[Arr, tuple[Arr, Arr, int]]:
    """Primary diagnosis of each spell: emergency from an active condition's acute codes
    (or by age group), elective from the elective list (chemotherapy with cancer),
    maternity a delivery. Returns it and the elective (code, pick, chemotherapy code)."""
    c = P.SPELL_CODING
    m = method.shape[0]
    conds = P.CONDITION_NAMES
    acute_tables = [vocab.indices(C.ACUTE_ICD10.get(x, ())) for x in conds]
    has_acute = np.array([t.shape[0] > 0 for t in acute_tables])
    weights = active & has_acute[None, :]
    gumbel = np.log(np.where(weights, 1.0, 1e-300)) - np.log(-np.log(rng.random(weights.shape)))
    chosen = np.argmax(gumbel, axis=1)
    any_cond = weights.any(axis=1)
    use_cond = any_cond & (rng.random(m) < c.condition_share)
    acute_pad, acute_len = _padded(acute_tables)
    cond_code = acute_pad[chosen, np.floor(rng.random(m) * acute_len[chosen]).astype(np.int64)]
    groups = ("child", "adult", "older")
    gen_tables = [vocab.indices(C.GENERIC_ICD10[g]) for g in groups]
    grp = np.where(age < c.child_age, 0, np.where(age < c.older_age, 1, 2))
    gen_pad, gen_len = _padded(gen_tables)
    gen_code = gen_pad[grp, np.floor(rng.random(m) * gen_len[grp]).astype(np.int64)]
    el_codes = vocab.indices([x for x, _ in C.ELECTIVE_ICD10])
    el_pick = np.floor(rng.random(m) * len(C.ELECTIVE_ICD10)).astype(np.int64)
    chemo = int(vocab.indices(["Z51.1"])[0])
    cancer_j = conds.index("cancer")
    el_code = np.where(
        active[:, cancer_j] & (rng.random(m) < c.chemotherapy_share), chemo, el_codes[el_pick]
    )
    mat_code = vocab.indices(["O80.0"])[0]
    primary = np.where(
        method == 0,
        np.where(use_cond, cond_code, gen_code),
        np.where(method == 1, el_code, mat_code),
    )
    return primary, (el_code, el_pick, chemo)


def _specialty(
    rng: np.random.Generator,
    vocab: Vocab,
    primary: Arr,
    method: Arr,
    age: Arr,
    elective: tuple[Arr, Arr, int],
) -> tuple[list[str], Arr]:
    """Main specialty: by the primary code's chapter, geriatrics for many emergency
    spells at 75+, paediatrics for children, the elective list's own, obstetrics."""
    c = P.SPELL_CODING
    el_code, el_pick, chemo = elective
    m = method.shape[0]
    spec_vocab = [
        "Paediatrics",
        "General Internal Medicine",
        "Geriatric Medicine",
        "Cardiology",
        "Respiratory Medicine",
        "Trauma and Orthopaedics",
        "General Surgery",
        "Psychiatry",
        "Obstetrics",
        "Clinical Oncology",
        *sorted({s for _, s in C.ELECTIVE_ICD10}),
    ]
    letter_spec = np.array(
        [
            {"I": 3, "J": 4, "S": 5, "K": 6, "F": 7}.get(c[0], 1) if c != "R10.4" else 6
            for c in vocab.codes
        ]
    )
    spec = letter_spec[primary]
    spec = np.where(
        (method == 0)
        & (age >= c.geriatric_age)
        & ((spec == 1) | (rng.random(m) < c.geriatric_share)),
        2,
        spec,
    )
    spec = np.where((method == 0) & (age < c.child_age), 0, spec)
    el_spec = np.array([spec_vocab.index(s) for _, s in C.ELECTIVE_ICD10])[el_pick]
    spec = np.where(method == 1, np.where(el_code == chemo, 9, el_spec), spec)
    spec = np.where(method == 2, 8, spec)
    return spec_vocab, spec


def _secondary_diagnoses(
    rng: np.random.Generator,
    ctx: Ctx,
    vocab: Vocab,
    person: Arr,
    method: Arr,
    age: Arr,
    active: Arr,
    primary: Arr,
) -> pa.Array:
    """Secondary diagnoses: most active chronic conditions (CKD by stage), frailty
    (HFRS) codes for frail older people admitted as emergencies, a live birth with
    each delivery; none repeating the primary."""
    c = P.SPELL_CODING
    m = method.shape[0]
    conds = P.CONDITION_NAMES
    chronic_codes = [C.CHRONIC_ICD10[c] for c in conds]
    chronic_idx = vocab.indices(chronic_codes)
    ckd_codes = vocab.indices(["N18.3", "N18.4", "N18.5"])
    sec_mask = active & (rng.random(active.shape) < c.chronic_coded_share) & (method != 2)[:, None]
    s_spell, s_cond = np.nonzero(sec_mask)
    s_code = chronic_idx[s_cond]
    ckd_j = conds.index("ckd")
    s_code = np.where(s_cond == ckd_j, ckd_codes[ctx.ckd_stage[person[s_spell]]], s_code)
    hfrs_codes = vocab.indices([c for c, _ in C.HFRS_ICD10])
    hfrs_w = [wt for _, wt in C.HFRS_ICD10]
    ncond = active.sum(axis=1)
    frail = (
        c.hfrs_age * (age - c.hfrs_centre_age)
        + c.hfrs_frailty * ctx.z[person]
        + c.hfrs_conditions * ncond
    )
    k_hfrs = np.where(
        (age >= c.older_age) & (method == 0),
        np.minimum(rng.poisson(np.exp(c.hfrs_base + frail)), c.hfrs_max),
        0,
    )
    h_spell = np.repeat(np.arange(m), k_hfrs)
    h_code = hfrs_codes[choose(rng, h_spell.shape[0], hfrs_w)]
    mat_sec = np.flatnonzero(method == 2)
    all_spell = np.concatenate([s_spell, h_spell, mat_sec])
    all_code = np.concatenate(
        [s_code, h_code, np.full(mat_sec.shape[0], vocab.indices(["Z37.0"])[0])]
    )
    key = np.unique(all_spell.astype(np.int64) * 4096 + all_code)
    u_spell, u_code = key // 4096, key % 4096
    keep = u_code != primary[u_spell]
    u_spell, u_code = u_spell[keep], u_code[keep]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(u_spell, minlength=m))]).astype(np.int32)
    secondary = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), take(vocab.codes, u_code))
    return secondary
