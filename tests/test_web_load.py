"""A bounded load test of screening through the API, on loopback only: a fixed number of
requests from a few client threads, stopped early after a time limit; prints requests/s."""

from __future__ import annotations

import json
import threading
import time

import httpx

from web_support import PATIENTS, ROOT, make_app, running

REQUESTS = 200  # at most
TIME_LIMIT_S = 15.0  # stop sending after this, whatever is left
CLIENTS = 4


def test_screening_requests_per_second(tmp_path, capsys):
    body = (PATIENTS / "p02_lms_low_anc_ineligible.json").read_bytes()
    done: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    with running(make_app(tmp_path / "load.db")) as base:
        assert base.startswith("http://127.0.0.1:")
        left = [REQUESTS]
        stop_at = time.monotonic() + TIME_LIMIT_S

        def worker() -> None:
            with httpx.Client(base_url=base, timeout=30) as c:
                while time.monotonic() < stop_at:
                    with lock:
                        if left[0] == 0:
                            return
                        left[0] -= 1
                    t0 = time.perf_counter()
                    r = c.post("/api/screen", content=body, headers={"content-type": "application/json"})
                    with lock:
                        (done if r.status_code == 200 else failures).append(
                            time.perf_counter() - t0 if r.status_code == 200 else r.status_code
                        )

        with httpx.Client(base_url=base) as warm:  # rules are loaded; warm the caches
            assert (
                warm.post(
                    "/api/screen", content=body, headers={"content-type": "application/json"}
                ).status_code
                == 200
            )
        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    assert not failures, failures[:5]
    assert len(done) >= 20
    rps = len(done) / elapsed
    lat = sorted(done)
    report = {
        "requests": len(done),
        "clients": CLIENTS,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(rps, 1),
        "median_ms": round(lat[len(lat) // 2] * 1000, 1),
        "p95_ms": round(lat[int(len(lat) * 0.95) - 1] * 1000, 1),
    }
    out = ROOT / "build" / "test-artifacts" / "web"
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(report, indent=2) + "\n")
    with capsys.disabled():
        print(f"\nweb load test (POST /api/screen, one patient, all trials): {report}")
    assert rps > 5
