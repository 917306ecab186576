#!/usr/bin/env python
"""Intake benchmark: tickets created through the JSON API against a trivial /healthz.

For each database (a temporary SQLite file, then a scratch PostgreSQL database) it migrates an
empty schema (``flask sd init-db``), creates an agent, a requester and an API token, starts the
app under gunicorn on 127.0.0.1, then with the same concurrent keep-alive clients

  1. sends GET /healthz (the baseline: routing, WSGI and HTTP, no database), and
  2. creates tickets with POST /api/v1/tickets (token auth, validation, priority, history,
     SLA clocks, one commit each),

and prints requests/s, p50/p95 latency and the ratio tickets/s / healthz req/s
(target: >= 30 %). Run from the repository root with the project's virtualenv:

    python bench/intake.py                      # 5,000 tickets on SQLite and PostgreSQL
    python bench/intake.py --db sqlite --tickets 1000 --workers 4 --threads 1
    python bench/intake.py --profile 500 [--cprofile]   # in-process CPU per request, no HTTP
    python bench/intake.py --floor              # also the raw-SQL floor (bench/_floor_app.py)

See bench/README.md.
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _db import database  # noqa: E402  (bench/ is on sys.path when run as a script)

TARGET_RATIO = 0.30
HOST = "127.0.0.1"


# --- the server under test ---------------------------------------------------------------

def server_env(url: str, instance: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, SERVICEDESK_INSTANCE=str(instance), SERVICEDESK_ENV="production",
               SECRET_KEY="bench-secret-key", PYTHONPATH=str(ROOT), FLASK_APP="wsgi")
    env.pop("TEST_DATABASE_URL", None)
    return env


def bootstrap(env: dict[str, str]) -> dict:
    """Migrate the empty database and create the bench users and token (in a subprocess, so
    the app reads this database's environment like the server will)."""
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run(flask + ["sd", "init-db"], env=env, cwd=ROOT, check=True,
                   capture_output=True, text=True)
    commands = subprocess.run(flask + ["sd", "--help"], env=env, cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
    if "seed-sla" in commands:  # default SLA policies: creation starts the clocks, as in prod
        subprocess.run(flask + ["sd", "seed-sla"], env=env, cwd=ROOT, check=True,
                       capture_output=True, text=True)
    out = subprocess.run([sys.executable, __file__, "--bootstrap"], env=env, cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _bootstrap_in_process() -> None:
    from datetime import datetime, timezone

    from servicedesk import create_app
    from servicedesk.accounts import services as accounts
    from servicedesk.accounts.models import Role
    from servicedesk.db import transaction
    from servicedesk.extensions import db

    now = datetime.now(timezone.utc)
    with create_app().app_context(), transaction(db.session):
        agent = accounts.create_user(db.session, email="bench.monitor@example.com",
                                     name="Bench monitoring", role=Role.agent, now=now)
        requester = accounts.create_user(db.session, email="bench.caller@example.com",
                                         name="Bench caller", role=Role.requester, now=now)
        _, secret = accounts.issue_token(db.session, agent, name="bench", now=now)
        result = {"token": secret, "requester_id": requester.id}
    print(json.dumps(result))


def _count_in_process() -> None:
    import sqlalchemy as sa

    from servicedesk import create_app
    from servicedesk.extensions import db
    from servicedesk.tickets.models import Ticket

    with create_app().app_context():
        print(db.session.scalar(sa.select(sa.func.count(Ticket.id))))


def _profile_in_process(n: int, with_cprofile: bool) -> None:
    """CPU time per request through the Flask test client (no sockets, no gunicorn): ``n``
    GET /healthz, then ``n`` POST /api/v1/tickets, after a warm-up of each."""
    import cProfile
    import pstats

    from servicedesk import create_app

    boot = json.loads(os.environ["SD_BENCH_BOOT"])
    client = create_app().test_client()
    auth = {"Authorization": f"Bearer {boot['token']}"}

    def body(i: int) -> dict:
        return {"title": f"Bench alert {i}: belt {i % 12 + 1} motor fault",
                "description": "Probe reports the belt motor tripped (E17); bags piling up.",
                "impact": i % 3 + 1, "urgency": (i // 3) % 3 + 1, "channel": "monitoring",
                "requester_id": boot["requester_id"]}

    def healthz(i: int) -> None:
        assert client.get("/healthz").status_code == 200

    def create(i: int) -> None:
        resp = client.post("/api/v1/tickets", json=body(i), headers=auth)
        assert resp.status_code == 201, resp.get_data(as_text=True)

    def cpu_ms(fn, count: int, offset: int = 0) -> float:
        for i in range(20):
            fn(offset + count + i)  # warm-up (numbered after the timed ones)
        start = time.process_time()
        for i in range(count):
            fn(offset + i)
        return (time.process_time() - start) * 1000 / count

    base, ticket = cpu_ms(healthz, n), cpu_ms(create, n)
    print(f"  in-process CPU per request: healthz {base:.3f} ms, ticket {ticket:.3f} ms, "
          f"ratio {base / ticket:.1%} ({n} each)", flush=True)
    if with_cprofile:
        profiler = cProfile.Profile()
        profiler.runcall(cpu_ms, create, n, offset=10 * n)
        pstats.Stats(profiler).sort_stats(os.environ.get("SD_PROFILE_SORT", "cumulative")
                                          ).print_stats(45)


def profile_database(kind: str, args: argparse.Namespace) -> None:
    with database(kind, "intake") as url, \
            tempfile.TemporaryDirectory(prefix="sd_bench_inst_") as inst:
        env = server_env(url, Path(inst))
        env["SD_BENCH_BOOT"] = json.dumps(bootstrap(env))
        print(f"== {kind}: in-process profile ==", flush=True)
        subprocess.run([sys.executable, __file__, "--profile-in-process", str(args.profile)]
                       + (["--cprofile"] if args.cprofile else []), env=env, cwd=ROOT,
                       check=True)


def count_tickets(env: dict[str, str]) -> int:
    out = subprocess.run([sys.executable, __file__, "--count"], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int, threads: int,
             log: Path, app: str = "wsgi:app") -> Iterator[subprocess.Popen]:
    cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads",
           str(threads), "--bind", f"{HOST}:{port}", "--log-level", "warning",
           "--keep-alive", "30", "--pythonpath", str(ROOT / "bench"), app]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; log:\n{log.read_text()}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def server_cpu_seconds(master: subprocess.Popen) -> float | None:
    """User+system CPU seconds of gunicorn's workers so far (Linux /proc; None elsewhere)."""
    try:
        children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        total = 0
        for pid in [master.pid, *map(int, children)]:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# --- the load ----------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: Counter = field(default_factory=Counter)
    sample_error: str = ""
    #: Server (gunicorn workers) CPU seconds spent on these requests, if measurable.
    cpu_seconds: float | None = None

    def add(self, other: Result) -> None:
        """Fold in another round of the same load."""
        self.requests += other.requests
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.errors.update(other.errors)
        self.sample_error = self.sample_error or other.sample_error
        if self.cpu_seconds is not None and other.cpu_seconds is not None:
            self.cpu_seconds += other.cpu_seconds
        else:
            self.cpu_seconds = None

    @property
    def cpu_ms(self) -> float | None:
        """Server CPU milliseconds per request."""
        return None if self.cpu_seconds is None else self.cpu_seconds / self.requests * 1000

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: int) -> float:
        """The q-th percentile latency in milliseconds."""
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1000

    def line(self) -> str:
        text = (f"  {self.name:<22} {self.requests:>6} req in {self.seconds:6.2f} s: "
                f"{self.rate:8.1f} req/s   p50 {self.pct(50):6.1f} ms   p95 {self.pct(95):6.1f} ms")
        if self.cpu_ms is not None:
            text += f"   server CPU {self.cpu_ms:5.2f} ms/req"
        if self.errors:
            text += f"   ERRORS {dict(self.errors)} e.g. {self.sample_error[:200]}"
        return text


Request = Callable[[int], tuple[str, str, bytes | None, dict[str, str]]]


def run_load(name: str, port: int, total: int, clients: int, make: Request,
             expect: int, master: subprocess.Popen | None = None, first: int = 0) -> Result:
    """``total`` requests from ``clients`` threads, each on its own keep-alive connection
    (``make`` gets request numbers ``first`` .. ``first + total - 1``)."""
    counter = itertools.count(first)
    total += first
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: Counter = Counter()
    samples: list[str] = []
    start = threading.Barrier(clients + 1)

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        mine = latencies[slot]
        start.wait()
        while (i := next(counter)) < total:
            method, path, body, headers = make(i)
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()  # reconnects on the next request
                status, data = type(exc).__name__, str(exc).encode()
            mine.append(time.perf_counter() - t0)
            if status != expect:
                errors[status] += 1
                if not samples:
                    samples.append(data.decode(errors="replace"))
        conn.close()

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients)]
    for thread in threads:
        thread.start()
    cpu0 = server_cpu_seconds(master) if master else None
    start.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - t0
    cpu1 = server_cpu_seconds(master) if master else None
    cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    return Result(name, total - first, seconds, [x for chunk in latencies for x in chunk],
                  errors, samples[0] if samples else "", cpu)


def bench_database(kind: str, args: argparse.Namespace) -> dict:
    with database(kind, "intake") as url, \
            tempfile.TemporaryDirectory(prefix="sd_bench_inst_") as inst:
        env = server_env(url, Path(inst))
        boot = bootstrap(env)
        port = free_port()
        auth = {"Authorization": f"Bearer {boot['token']}", "Content-Type": "application/json"}

        def healthz(i: int):
            return "GET", "/healthz", None, {}

        def alert(i: int) -> bytes:
            return json.dumps({
                "title": f"Bench alert {i}: belt {i % 12 + 1} motor fault",
                "description": "Probe reports the belt motor tripped (E17); bags piling up.",
                "impact": i % 3 + 1, "urgency": (i // 3) % 3 + 1, "channel": "monitoring",
                "requester_id": boot["requester_id"]}).encode()

        def create(i: int):
            return "POST", "/api/v1/tickets", alert(i), auth

        def floor(i: int):
            return "POST", "/bench/floor", alert(i + args.tickets), auth

        print(f"== {kind}: gunicorn {args.workers} worker(s) x {args.threads} thread(s), "
              f"{args.clients} clients, {args.tickets} tickets ==", flush=True)
        with gunicorn(env, port, args.workers, args.threads, Path(inst) / "gunicorn.log",
                      "_floor_app:app" if args.floor else "wsgi:app") as master:
            probe = run_load("probe", port, 1, 1, create, 201)
            if probe.errors:
                status = next(iter(probe.errors))
                if status in (404, 405):
                    raise SystemExit(f"POST /api/v1/tickets answers {status}: the ticket API is "
                                     "not there yet.")
                raise SystemExit(f"POST /api/v1/tickets failed: {status} {probe.sample_error}")
            run_load("warm-up", port, 200 * args.workers, args.clients, healthz, 200)
            base, made, raw = interleaved(port, args, healthz, create,
                                          floor if args.floor else None, master)
            for result in (base, made, raw):
                if result is not None:
                    print(result.line(), flush=True)
        stored = count_tickets(env)
        expected = args.tickets + 1 - sum(made.errors.values())
        if raw is not None:
            expected += raw.requests - sum(raw.errors.values())
        ratio = made.rate / base.rate
        verdict = "ok" if ratio >= TARGET_RATIO else "MISSED"
        print(f"  ratio tickets/s / healthz req/s: {ratio:.1%} (target >= {TARGET_RATIO:.0%}) "
              f"{verdict}; {stored} tickets stored (expected {expected})", flush=True)
        cpu_ratio = base.cpu_ms / made.cpu_ms if base.cpu_ms and made.cpu_ms else None
        if cpu_ratio is not None:
            print(f"  server CPU per request healthz / ticket: {cpu_ratio:.1%} (what the ratio "
                  "would be if the server's CPU were the only limit)", flush=True)
        if raw is not None and raw.cpu_ms and base.cpu_ms:
            print(f"  floor (raw SQL, bench/_floor_app.py) / healthz: {raw.rate / base.rate:.1%} "
                  f"of the request rate, {base.cpu_ms / raw.cpu_ms:.1%} in server CPU: the best "
                  "any intake code could do on this stack", flush=True)
        if stored != expected:
            print("  WARNING: stored ticket count differs from successful requests")
        return {"database": kind, "healthz_rps": round(base.rate, 1),
                "healthz_p50_ms": round(base.pct(50), 2), "healthz_p95_ms": round(base.pct(95), 2),
                "tickets_per_s": round(made.rate, 1), "tickets_p50_ms": round(made.pct(50), 2),
                "tickets_p95_ms": round(made.pct(95), 2), "ratio": round(ratio, 4),
                "healthz_cpu_ms": base.cpu_ms and round(base.cpu_ms, 3),
                "tickets_cpu_ms": made.cpu_ms and round(made.cpu_ms, 3),
                "cpu_ratio": cpu_ratio and round(cpu_ratio, 4),
                "errors": sum(made.errors.values()), "stored": stored, "rounds": args.rounds,
                "workers": args.workers, "threads": args.threads, "clients": args.clients,
                **({"floor_per_s": round(raw.rate, 1), "floor_ratio": round(raw.rate / base.rate, 4),
                    "floor_cpu_ms": raw.cpu_ms and round(raw.cpu_ms, 3)} if raw else {})}


def interleaved(port: int, args: argparse.Namespace, healthz: Request, create: Request,
                floor: Request | None, master: subprocess.Popen
                ) -> tuple[Result, Result, Result | None]:
    """The loads in ``args.rounds`` alternating rounds, so a change in the machine's load
    (other work on a shared machine) hits them alike and the ratio stays fair."""
    rounds = max(1, args.rounds)
    base = Result("GET /healthz", 0, 0.0, [], cpu_seconds=0.0)
    made = Result("POST /api/v1/tickets", 0, 0.0, [], cpu_seconds=0.0)
    raw = Result("POST /bench/floor", 0, 0.0, [], cpu_seconds=0.0) if floor else None
    checks, tickets = args.healthz or args.tickets, args.tickets
    for r in range(rounds):
        n_checks = checks * (r + 1) // rounds - checks * r // rounds
        n_tickets = tickets * (r + 1) // rounds - tickets * r // rounds
        base.add(run_load(base.name, port, n_checks, args.clients, healthz, 200, master))
        made.add(run_load(made.name, port, n_tickets, args.clients, create, 201, master,
                          first=tickets * r // rounds))
        if raw is not None:
            raw.add(run_load(raw.name, port, n_tickets, args.clients, floor, 201, master,
                             first=tickets * r // rounds))
    return base, made, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql (default both)")
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--healthz", type=int, default=0,
                        help="/healthz requests (default: as many as tickets)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating healthz/ticket rounds (load changes hit both alike)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="instead of the HTTP load: CPU per request in-process, N of each")
    parser.add_argument("--cprofile", action="store_true",
                        help="with --profile: also print a cProfile of N ticket creations")
    parser.add_argument("--floor", action="store_true",
                        help="also time POST /bench/floor: the same rows written by raw SQL "
                             "(bench/_floor_app.py), the lower bound of intake on this stack")
    parser.add_argument("--profile-in-process", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bootstrap:
        return _bootstrap_in_process()
    if args.count:
        return _count_in_process()
    if args.profile_in_process:
        return _profile_in_process(args.profile_in_process, args.cprofile)
    if args.profile:
        for kind in args.db.split(","):
            if kind.strip():
                profile_database(kind.strip(), args)
        return
    results = [bench_database(kind.strip(), args) for kind in args.db.split(",") if kind.strip()]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
