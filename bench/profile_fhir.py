"""CPU per request of bench_fhir's two requests, in process, and their cProfile.

    .venv/bin/python bench/profile_fhir.py STORE.db PEOPLE N

(``bench_fhir.py --profile N`` runs it on the benchmark's store.) The ASGI app is driven
through Starlette's TestClient (no network); CPU time (``time.process_time``) is what a
request costs whatever the machine's load, wall time is not. The TestClient's own cost
(and that of locust's gevent patches: bench_web imports locust) is in every figure;
``/health`` (one query) is measured first as that floor.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_web import LOCALITIES, _nhs, _uptime
from fhir_store import make_tokens

NHS = "https://fhir.nhs.uk/Id/nhs-number"


def profile(db: Path, people: int, n: int) -> None:
    """CPU per request of each benchmarked request, in process (the ASGI app through
    Starlette's TestClient, no network), then a cProfile of ``n`` of each: what a request
    costs, whatever the machine's load (CPU time, not wall time)."""
    import cProfile
    import pstats

    from fastapi.testclient import TestClient

    from careweave.server import build_app
    from careweave.settings import Settings

    me = make_tokens(db, 1)[0]
    plans = list(me["plans"])  # type: ignore[call-overload]
    loc = int(me["loc"])  # type: ignore[call-overload]
    app = build_app(Settings(db=f"sqlite:///{db}", insecure_cookies=True))
    rng = random.Random(1)

    def patient() -> None:
        i = rng.randrange(people // LOCALITIES) * LOCALITIES + loc
        r = c.get("/fhir/Patient", params={"identifier": f"{NHS}|{_nhs(min(i, people - 1))}"})
        assert r.status_code == 200 and len(r.json()["entry"]) == 1, r.text

    def plan() -> None:
        r = c.get(f"/fhir/CarePlan/{rng.choice(plans)}")
        assert r.status_code == 200, r.text

    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {me['token']}"

        def health() -> None:
            assert c.get("/health").status_code == 200

        # /health: the floor (the TestClient, the middleware, one query), not profiled.
        for name, call in (
            ("/health (floor)", health),
            ("Patient?identifier", patient),
            ("CarePlan read", plan),
        ):
            for _ in range(20):  # warm-up
                call()
            t0, w0 = time.process_time(), time.perf_counter()
            for _ in range(n):
                call()
            cpu, wall = time.process_time() - t0, time.perf_counter() - w0
            print(
                f"{name:20s} CPU {cpu / n * 1000:.1f} ms a request "
                f"(wall {wall / n * 1000:.1f} ms; {n} requests, in process)"
            )
            if call is health:
                continue
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(n):
                call()
            prof.disable()
            stats = pstats.Stats(prof)
            stats.sort_stats("tottime").print_stats(15)
            stats.sort_stats("cumulative").print_stats("careweave", 25)
    print("uptime:", _uptime())


if __name__ == "__main__":
    profile(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
