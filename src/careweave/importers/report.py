"""The mapping report every import writes (``import-report.json``) and prints.

It answers: what did we see, what became canonical rows, what was kept raw and
why, which codes were outside the canonical code systems, and which problems
were found where (file and entry index). Problem details are capped so a
hopeless file cannot make the report itself grow without bound; the counts are
always exact.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Problem details kept in the report (counts stay exact beyond this).
MAX_PROBLEMS = 2000
MAX_CODE_EXAMPLES = 5

REPORT_FILE = "import-report.json"


@dataclass
class Problem:
    file: str
    entry: int | None
    kind: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "entry": self.entry, "kind": self.kind, "message": self.message}


@dataclass
class ImportReport:
    source: str
    seen: Counter[str] = field(default_factory=Counter)
    mapped: Counter[str] = field(default_factory=Counter)
    raw: Counter[str] = field(default_factory=Counter)
    #: Resources not turned into rows for a reason reported as a problem
    #: (duplicates; dangling references are moved to raw and counted there).
    rejected: Counter[str] = field(default_factory=Counter)
    unmapped_codes: dict[str, Counter[str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    problems_by_kind: Counter[str] = field(default_factory=Counter)
    problems_by_file: Counter[str] = field(default_factory=Counter)
    #: (file, kind) -> count: what went wrong where, exactly, however many problems.
    problems_by_file_kind: Counter[tuple[str, str]] = field(default_factory=Counter)
    rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    bytes_read: int = 0
    seconds: float = 0.0
    span: tuple[str, str] | None = None

    def problem(self, file: str, entry: int | None, kind: str, message: str) -> None:
        self.problem_count += 1
        self.problems_by_kind[kind] += 1
        self.problems_by_file[file] += 1
        self.problems_by_file_kind[(file, kind)] += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(file, entry, kind, message))

    def unmapped_code(self, system: str, code: str) -> None:
        key = system or "(no system)"
        counter = self.unmapped_codes.get(key)
        if counter is None:
            counter = self.unmapped_codes[key] = Counter()
        counter[code] += 1

    def merge(self, other: ImportReport) -> None:
        """Add another report's counts and problems (from a parallel worker) to this one."""
        self.seen.update(other.seen)
        self.mapped.update(other.mapped)
        self.raw.update(other.raw)
        self.rejected.update(other.rejected)
        for system, codes in other.unmapped_codes.items():
            self.unmapped_codes.setdefault(system, Counter()).update(codes)
        room = MAX_PROBLEMS - len(self.problems)
        self.problems.extend(other.problems[: max(room, 0)])
        self.problem_count += other.problem_count
        self.problems_by_kind.update(other.problems_by_kind)
        self.problems_by_file.update(other.problems_by_file)
        self.problems_by_file_kind.update(other.problems_by_file_kind)
        self.bytes_read += other.bytes_read

    def by_file_and_kind(self) -> dict[str, dict[str, int]]:
        """file -> kind -> count of problems, files and kinds in order."""
        out: dict[str, dict[str, int]] = {}
        for (file, kind), n in sorted(self.problems_by_file_kind.items()):
            out.setdefault(file, {})[kind] = n
        return out

    @property
    def rows_written(self) -> int:
        return sum(n for t, n in self.rows.items() if t != "raw_resources")

    def as_dict(self) -> dict[str, Any]:
        types = sorted(set(self.seen) | set(self.mapped) | set(self.raw) | set(self.rejected))
        return {
            "source": self.source,
            "files": self.files,
            "bytes_read": self.bytes_read,
            "seconds": round(self.seconds, 3),
            "span": list(self.span) if self.span else None,
            "resources": {
                t: {
                    "seen": self.seen[t],
                    "mapped": self.mapped[t],
                    "kept_raw": self.raw[t],
                    "rejected": self.rejected[t],
                }
                for t in types
            },
            "rows": dict(sorted(self.rows.items())),
            "unmapped_codes": {
                system: {
                    "count": sum(c.values()),
                    "distinct": len(c),
                    "examples": [code for code, _ in c.most_common(MAX_CODE_EXAMPLES)],
                }
                for system, c in sorted(self.unmapped_codes.items())
            },
            "problems": {
                "count": self.problem_count,
                "by_kind": dict(sorted(self.problems_by_kind.items())),
                "by_file": dict(sorted(self.problems_by_file.items())),
                "by_file_and_kind": self.by_file_and_kind(),
                "items": [p.as_dict() for p in self.problems],
                "truncated": self.problem_count > len(self.problems),
            },
        }

    def write(self, directory: Path) -> Path:
        path = directory / REPORT_FILE
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.as_dict(), indent=2))
        os.replace(tmp, path)
        return path
