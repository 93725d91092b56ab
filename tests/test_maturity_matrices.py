"""The shipped maturity matrices hold every element and stage text of their seeds.

The seeds' lines are copied verbatim into tests/fixtures/maturity (with their line
numbers in /work/shared/seeds), so the counts below cite the seed lines they come from:

Seed 000 (000_5fd2acdfb90152bd.txt), section 9:
- line 250, the page-25 overview: five dimensions with 5, 4, 6, 6 and 6 key elements
  (the grid flattened row by row; rows of 5, 5, 5, 5, 4 and 3 names);
- lines 252-264, pages 26-32: stage texts for 14 elements (9.1: 5, lines 252 and 254;
  9.2: 4, lines 256 and 258; 9.3: 5, lines 260, 262 and 264), three stages each;
  the seed ends there, so 13 elements (Pharmacy developments and all of 9.4 and 9.5)
  have names only.
Seed 001 (001_91c3b1a09165e63e.txt), Exhibit 2 (lines 30 and 32): nine areas with
2, 4, 2, 2, 5, 3, 4, 3 and 7 rows, four cells each (128).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from careweave.cli.main import main
from careweave.errors import InputError
from careweave.maturity.matrices import DATA, Matrix, load_file, load_matrices

FIXTURES = Path(__file__).parent / "fixtures" / "maturity"


def _seed_lines(name: str) -> dict[int, str]:
    lines: dict[int, str] = {}
    for raw in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        if raw.startswith("#"):
            continue
        number, _, text = raw.partition("|")
        lines[int(number)] = text
    return lines


SEED_000 = _seed_lines("seed000_section9.txt")
SEED_001 = _seed_lines("seed001_exhibit2.txt")


@pytest.fixture(scope="module")
def shipped() -> dict[str, Matrix]:
    return load_matrices()


def _fragments(text: str) -> list[str]:
    """A stage text's statements: joined with '. ' where the seed gives several."""
    return [f.strip() for f in text.split(". ") if f.strip()]


def _cited_lines(source: str) -> list[int]:
    found = re.search(r"seed lines? ([\d, ]+)", source)
    assert found, f"no seed line cited in {source!r}"
    return [int(n) for n in re.findall(r"\d+", found.group(1))]


def test_ccm_counts_match_seed_000(shipped: dict[str, Matrix]) -> None:
    m = shipped["ccm-wales"]
    assert m.source.seed == "000_5fd2acdfb90152bd.txt"
    assert [s.label for s in m.stages] == [
        "Initial development",
        "Progress in development",
        "Integrated mainstream services",
    ]
    assert [d.id for d in m.dimensions] == ["9.1", "9.2", "9.3", "9.4", "9.5"]
    assert [len(d.elements) for d in m.dimensions] == [5, 4, 6, 6, 6]  # line 250
    with_text = [e for d in m.dimensions for e in d.elements if all(e.stages.values())]
    names_only = [e for d in m.dimensions for e in d.elements if not any(e.stages.values())]
    assert len(with_text) == 14  # lines 252-264
    assert sum(len(e.stages) for e in with_text) == 42
    assert len(names_only) == 13
    assert {e.id for e in names_only} >= {
        e.id for d in m.dimensions if d.id in ("9.4", "9.5") for e in d.elements
    }
    for e in names_only:
        assert "Name only" in e.notes
    # Every element is named in the page-25 overview.
    for d in m.dimensions:
        for e in d.elements:
            assert e.title in SEED_000[250], e.title


def test_nine_area_counts_match_seed_001(shipped: dict[str, Matrix]) -> None:
    m = shipped["integration-nine-areas"]
    assert m.source.seed == "001_91c3b1a09165e63e.txt"
    assert [s.label for s in m.stages] == [
        "Small start",
        "Implementing",
        "Well developed",
        "Embedded",
    ]
    assert [d.title for d in m.dimensions] == [
        "Impact",
        "Place and context",
        "Focus",
        "Care model",
        "Information management",
        "Commissioning and payment",
        "Workforce",
        "Governance",
        "Leadership",
    ]
    assert [len(d.elements) for d in m.dimensions] == [2, 4, 2, 2, 5, 3, 4, 3, 7]  # lines 30, 32
    texts = [t for d in m.dimensions for e in d.elements for t in e.stages.values()]
    assert len(texts) == 128
    assert all(texts)
    seed = SEED_001[30] + " " + SEED_001[32]
    for d in m.dimensions:
        for e in d.elements:
            assert e.title in seed, e.title


@pytest.mark.parametrize(
    ("matrix_id", "seed"), [("ccm-wales", SEED_000), ("integration-nine-areas", SEED_001)]
)
def test_every_stage_text_is_the_seeds_words(
    shipped: dict[str, Matrix], matrix_id: str, seed: dict[int, str]
) -> None:
    for d in shipped[matrix_id].dimensions:
        for e in d.elements:
            cited = " ".join(seed[n] for n in _cited_lines(e.source))
            for text in [e.description, *e.stages.values()]:
                for fragment in _fragments(text):
                    assert fragment in cited, f"{e.id}: {fragment!r} is not in the seed"


def _leftover(line: str, pieces: list[str]) -> str:
    """``line`` with each piece taken out once, longest first; what no piece accounts for."""
    for piece in sorted(pieces, key=len, reverse=True):
        line = line.replace(piece, " ", 1)
    return re.sub(r"\s+", " ", line).strip()


def test_nothing_of_the_seed_000_tables_is_left_out(shipped: dict[str, Matrix]) -> None:
    m = shipped["ccm-wales"]
    pieces = [
        f
        for d in m.dimensions
        for e in d.elements
        for t in [e.description, *e.stages.values()]
        for f in _fragments(t)
    ]
    # The element names as the table pages of 9.3 spell them (pages 30-32).
    pieces += [
        "Service Development and Innovation",
        "Prevention and Promotion",
        "Independence and self-care",
        "Care pathways",
        "Primary Care/GMS",
    ]
    headers = [
        "Key Element a) Initial Development b) Progress in Development c) Integrated mainstream services",
        "9.1 Local Vision, Priorities and Partnerships",
        "9.2 Local model and resources for delivery",
        "9.3 Foundations for Change",
    ]
    for n in (252, 254, 256, 258, 260, 262, 264):
        left = _leftover(SEED_000[n], pieces + headers)
        # Only page numbers and the sentence-joining full stops remain.
        assert re.fullmatch(r"[\d .]*", left), f"seed line {n}: not in the matrix: {left!r}"


def test_nothing_of_the_seed_001_exhibit_is_left_out(shipped: dict[str, Matrix]) -> None:
    m = shipped["integration-nine-areas"]
    pieces = [t for d in m.dimensions for e in d.elements for t in e.stages.values()]
    pieces += [e.title for d in m.dimensions for e in d.elements]
    pieces += [h for d in m.dimensions for h in d.stage_headings.values()]
    pieces += [d.title for d in m.dimensions] + ["Information Management", "Focus"]
    pieces += ["Small start Implementing Well developed Embedded"] * 8
    pieces += ["Exhibit 2: Maturity matrix"]
    pieces += ["Source: Interviews, case studies, Carnall Farrar analysis"] * 2
    pieces += ["The journey to integration"] * 2
    left = _leftover(SEED_001[30] + " " + SEED_001[32], pieces)
    assert re.fullmatch(r"[\d ]*", left), f"not in the matrix: {left!r}"


def test_matrices_json_lists_each_shipped_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["maturity", "matrices", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["id"] for m in listed] == ["ccm-wales", "integration-nine-areas"]
    ccm = listed[0]
    assert set(ccm) >= {"id", "title", "source", "dimensions"}
    assert ccm["source"]["seed"] == "000_5fd2acdfb90152bd.txt"
    needs = ccm["dimensions"][0]["elements"][0]
    assert needs["title"] == "Needs assessment"
    assert [s["id"] for s in needs["stages"]] == ["a", "b", "c"]
    assert "% patients in lower risk groups increasing" in needs["stages"][2]["text"]
    assert sum(len(d["elements"]) for m in listed for d in m["dimensions"]) == 27 + 32


LOCAL = """\
id = "local-test"
title = "A local matrix"
[source]
seed = "our-board-paper.pdf"
section = "appendix 2"
[[stages]]
id = "low"
label = "Low"
[[stages]]
id = "high"
label = "High"
[[dimensions]]
id = "one"
title = "One"
[[dimensions.elements]]
id = "first"
title = "First"
[dimensions.elements.stages]
low = "Something"
high = "More"
"""


def test_a_local_matrix_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "local.toml").write_text(LOCAL)
    assert main(["maturity", "matrices", "--matrix-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "local-test: A local matrix (1 dimensions, 1 elements, stages Low, High; local" in out


BAD = [
    ("not = toml = at all", "cannot read as TOML"),
    (
        LOCAL.replace('high = "More"', 'high = "More"\nmiddle = "x"'),
        "dimensions[0].elements[0] (first).stages: unknown stage 'middle'",
    ),
    (
        LOCAL.replace('high = "More"\n', ""),
        "dimensions[0].elements[0] (first).stages: missing stage 'high'",
    ),
    (
        LOCAL.replace('high = "More"', 'high = ""'),
        "dimensions[0].elements[0] (first).notes: an element with an empty stage text must say why",
    ),
    (
        LOCAL.replace('title = "First"', 'title = "First"\ncolour = "red"'),
        "dimensions[0].elements[0].colour: Extra inputs are not permitted",
    ),
    (LOCAL.replace('seed = "our-board-paper.pdf"\n', ""), "source.seed: Field required"),
    (
        LOCAL.replace('id = "first"', 'id = "First One"'),
        "dimensions[0].elements[0].id: String should match pattern",
    ),
    (LOCAL.replace('id = "high"', 'id = "low"'), "stages[1].id: stage 'low' is given twice"),
    (
        LOCAL.replace('id = "local-test"', 'id = "ccm-wales"'),
        "id: matrix 'ccm-wales' is already defined by",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_local_matrix_names_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as e:
        load_matrices(tmp_path)
    said = str(e.value)
    assert "\n" not in said
    assert said.startswith(f"{path}: "), said
    assert message in said, said


def test_the_cli_says_a_bad_matrix_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.toml").write_text(LOCAL.replace('high = "More"\n', ""))
    assert main(["maturity", "matrices", "--matrix-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "bad.toml: dimensions[0].elements[0] (first).stages: missing stage 'high'" in err
    assert main(["maturity", "matrices", "--matrix-dir", str(tmp_path / "nowhere")]) == 2
    assert "matrix directory does not exist" in capsys.readouterr().err


def test_shipped_files_load_one_by_one() -> None:
    for path in sorted(DATA.glob("*.toml")):
        assert load_file(path).id == path.stem
