"""Benchmark of the knowledge-base engine (kb/) on generated airport service-desk articles.

    python bench/kb_search.py                      # 100,000 articles (the issue's target size)
    python bench/kb_search.py --articles 10000 --queries 100

Reports: full rebuild time and indexing throughput, the cost of a one-document update at that
size, and query latency (p50/p95/max) for one-word, multi-word and Chinese searches and for
engine-level suggestions (what the suggest endpoint calls). No query results are cached
anywhere; ``kb.fastrank`` keeps decoded posting data of recently searched words in memory
(like any search engine's caches), so a "cold cache" line times queries with that memory
emptied before each one. Targets from issue 4: search p95
under 30 ms at 100,000 articles, full rebuild under 3 minutes on a 2-core machine.

Query latencies are given as wall time *and* CPU time of the process (``time.process_time``):
on a shared machine the wall time mostly measures the other processes; the CPU time is what a
query costs. The rebuild also reports the CPU seconds of the process and its workers.

``--http``: the suggest endpoint over HTTP (target p95 under 60 ms): a scratch SQLite database
is migrated, the generated articles are bulk-inserted as published/draft/retired article rows
(same ids as the index), the app runs under gunicorn on 127.0.0.1 with ``KB_INDEX_DIR`` on the
index just built, and ``GET /api/v1/kb/suggest?text=<intake text>`` is timed with an agent's
API token (what the intake form's suggestions cost, plus routing, auth and the database check
of each hit). ``--suggest-url`` (with ``--header``) times an already running server instead.

``--reuse-index DIR`` skips the rebuild and queries an index built earlier (``--dir D --keep``
leaves one in ``D/index``).

Articles are generated deterministically (``--seed``): about a third Chinese, a tenth mixed,
the rest English, with realistic lengths, a Zipf-like vocabulary (common desk words plus rare
error codes and asset tags), usage figures and a status/audience mix.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import kb  # noqa: E402
import kb.fastrank  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

SERVICES = [
    "Departure Control", "Baggage Handling", "ATC Radar", "VPN", "Identity", "Email", "Wi-Fi",
    "Docking Guidance", "Fuel System", "POS", "Catering", "FIDS", "Workstation", "Network",
    "Telephony", "Security Screening", "Printing", "Parking", "Finance", "HR Portal",
    "Resource Management", "Airside Access", "CCTV", "Public Address", "Cargo", "Lost Luggage",
    "Crew Scheduling", "Gate Allocation", "Billing", "Weather Briefing",
]
DEVICES = [
    "boarding pass printer", "bag tag printer", "baggage belt", "reclaim carousel",
    "radar display", "VPN client", "laptop", "desktop computer", "docking station",
    "flight information display", "self-service kiosk", "gate reader", "barcode scanner",
    "receipt printer", "POS terminal", "desk phone", "X-ray machine", "badge reader",
    "parking barrier", "fuel dispenser", "hydrant meter", "catering tablet", "wireless access point",
    "network switch", "office printer", "email client", "shared mailbox", "CCTV camera",
    "PA amplifier", "weather display",
]
PROBLEMS = [
    "jams", "freezes", "stops", "shows an error", "does not start", "is very slow",
    "loses connection", "disconnects every hour", "prints blank pages", "rejects valid input",
    "reboots randomly", "shows the wrong data", "cannot log in", "is offline", "overheats",
    "beeps continuously", "displays nothing", "drops calls", "fails to sync", "locks the account",
]
WORDS = (
    "agent passenger gate stand terminal airside landside shift supervisor vendor update "
    "restart reset power cable network server service queue message interface config profile "
    "certificate password account session timeout driver firmware version patch screen label "
    "barcode paper roll ribbon sensor motor belt conveyor chute sorter flight schedule crew "
    "aircraft stand marshal fuel order meter ticket payment card receipt till store duty free "
    "camera recording disk space backup log alarm fault warning error code check clear clean "
    "replace swap spare escalate vendor contract hardware software remote onsite morning night "
    "weekend peak delay manual workaround permanent fix root cause monitor verify test confirm"
).split()
ZH_DEVICES = [
    "登机牌打印机", "行李牌打印机", "行李转盘", "雷达显示", "VPN客户端", "笔记本电脑", "台式电脑",
    "扩展坞", "航显屏幕", "自助值机设备", "登机口阅读器", "条码扫描枪", "收银机", "桌面电话",
    "X光机", "门禁读卡器", "停车场道闸", "加油车", "配餐平板", "无线接入点", "交换机", "办公打印机",
    "邮件客户端", "共享邮箱", "监控摄像头",
]
ZH_PROBLEMS = [
    "卡纸", "画面冻结", "停止运转", "报错", "无法启动", "运行很慢", "连接中断", "每小时断开",
    "打印空白", "拒绝有效登机牌", "随机重启", "显示错误数据", "无法登录", "离线", "过热",
    "一直报警", "没有显示", "通话中断", "同步失败", "账号被锁定",
]
ZH_PHRASES = [
    "值机员反映", "旅客投诉", "请现场工程师检查", "重启设备后恢复", "联系供应商处理", "检查网线和电源",
    "更新驱动程序", "清理纸道", "重新发布配置", "切换到备用服务器", "在控制室复位", "更换备件",
    "核对证书", "解锁账号", "清除缓存", "检查日志", "临时措施", "永久解决方案", "高峰时段",
    "夜班期间", "登机口", "到达大厅", "出发大厅", "机位", "安检通道", "收银台", "办公区",
]


def _zipf_word(rng: random.Random) -> str:
    # Common words dominate; now and then a rare token (error code, asset tag).
    roll = rng.random()
    if roll < 0.03:
        return f"0x{rng.randrange(16**6):06x}"
    if roll < 0.05:
        return f"{rng.choice(['BTP', 'BTG', 'KSK', 'SW', 'AP'])}-{rng.randrange(10000):04d}"
    return WORDS[min(int(rng.paretovariate(1.1)) - 1, len(WORDS) - 1) % len(WORDS)]


def _english(rng: random.Random, words: int) -> str:
    device = rng.choice(DEVICES)
    problem = rng.choice(PROBLEMS)
    filler = " ".join(_zipf_word(rng) for _ in range(words))
    return f"The {device} at {rng.choice(['gate', 'stand', 'desk', 'lane'])} " \
           f"{rng.choice('ABC')}{rng.randrange(1, 60)} {problem}. {filler}."


def _chinese(rng: random.Random, phrases: int) -> str:
    device, problem = rng.choice(ZH_DEVICES), rng.choice(ZH_PROBLEMS)
    rest = "，".join(rng.choice(ZH_PHRASES) for _ in range(phrases))
    return f"{rng.randrange(1, 60)}号{rng.choice(['登机口', '机位', '柜台'])}的{device}{problem}，{rest}。"


def generate_articles(count: int, seed: int = 4):
    """Yield ``count`` reproducible ArticleDocs (lazily, as a database cursor would)."""
    rng = random.Random(seed)
    for article_id in range(1, count + 1):
        kind = rng.random()
        if kind < 0.33:
            language = "zh"
            title = f"{rng.choice(ZH_DEVICES)}{rng.choice(ZH_PROBLEMS)}"
            symptoms, cause = _chinese(rng, 4), _chinese(rng, 2)
            resolution, body = _chinese(rng, 6), _chinese(rng, 10)
        elif kind < 0.43:
            language = "mixed"
            title = f"{rng.choice(DEVICES).title()} {rng.choice(ZH_PROBLEMS)} {rng.choice(PROBLEMS)}"
            symptoms = _chinese(rng, 3) + " " + _english(rng, 12)
            cause = _english(rng, 8)
            resolution = _chinese(rng, 4) + " " + _english(rng, 15)
            body = _english(rng, 40) + " " + _chinese(rng, 5)
        else:
            language = "en"
            title = f"{rng.choice(DEVICES).capitalize()} {rng.choice(PROBLEMS)}"
            symptoms, cause = _english(rng, 30), _english(rng, 12)
            resolution, body = _english(rng, 40), _english(rng, 90)
        uses = int(rng.paretovariate(1.5)) - 1
        yield kb.ArticleDoc(
            id=article_id,
            title=title,
            symptoms=symptoms,
            cause=cause,
            resolution=resolution,
            body=body,
            tags=rng.sample(WORDS, 2),
            services=[rng.choice(SERVICES)],
            language=language,
            status=rng.choices(["published", "draft", "retired"], [0.85, 0.1, 0.05])[0],
            audience=rng.choices(["internal", "public"], [0.7, 0.3])[0],
            is_known_error=rng.random() < 0.05,
            uses=uses,
            helpful=rng.randrange(0, 20),
            unhelpful=rng.randrange(0, 5),
            last_used_at=NOW - timedelta(days=rng.randrange(0, 400)) if uses else None,
            updated_at=NOW - timedelta(days=rng.randrange(0, 900)),
        )


def query_sets(rng: random.Random, count: int) -> dict[str, list[str]]:
    """Realistic queries per category (what agents and requesters type)."""
    one_word = [rng.choice(["printer", "vpn", "password", "radar", "belt", "scanner", "kiosk",
                            "timeout", "certificate", "jams", "freezes", "barrier", "fuel",
                            "carousel", "firmware", rng.choice(WORDS)]) for _ in range(count)]
    multi = []
    for _ in range(count):
        device = rng.choice(DEVICES).split()
        problem = rng.choice(PROBLEMS).split()
        multi.append(" ".join(device[-2:] + problem[:2]))
    chinese = []
    for _ in range(count):
        if rng.random() < 0.5:
            chinese.append(rng.choice(ZH_DEVICES) + rng.choice(ZH_PROBLEMS))
        else:
            chinese.append(f"{rng.choice(ZH_DEVICES)} {rng.choice(ZH_PROBLEMS)}")
    intake = []
    for _ in range(count):
        if rng.random() < 0.33:
            intake.append(f"{rng.choice(ZH_DEVICES)}{rng.choice(ZH_PROBLEMS)}，" + _chinese(rng, 3))
        else:
            intake.append(f"{rng.choice(DEVICES)} {rng.choice(PROBLEMS)} " + _english(rng, 20))
    return {"one-word": one_word, "multi-word": multi, "chinese": chinese, "suggest": intake}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def report(label: str, millis: list[float], cpu: list[float] | None = None) -> None:
    line = (f"  {label:<24} n={len(millis):<4} p50={percentile(millis, 50):7.1f} ms  "
            f"p95={percentile(millis, 95):7.1f} ms  max={max(millis):7.1f} ms")
    if cpu:
        line += f"  | CPU p50={percentile(cpu, 50):6.1f} ms  p95={percentile(cpu, 95):6.1f} ms"
    print(line)


def bench_rebuild(path: Path, count: int, seed: int, procs: int | None, limitmb: int):
    marks = []
    start = time.perf_counter()

    def progress(done: int) -> None:
        if done % 10_000 == 0 or done == count:
            marks.append((done, time.perf_counter() - start))

    cpu_start = _cpu_seconds()
    index = kb.rebuild_index(
        path, generate_articles(count, seed), progress, procs=procs, limitmb=limitmb
    )
    elapsed = time.perf_counter() - start
    return index, elapsed, marks, _cpu_seconds() - cpu_start


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (rebuild workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_generation_only(count: int, seed: int) -> float:
    start = time.perf_counter()
    for _ in generate_articles(count, seed):
        pass
    return time.perf_counter() - start


def _timed(call) -> tuple[float, float]:
    """(wall ms, CPU ms) of ``call()``."""
    start, cpu = time.perf_counter(), time.process_time()
    call()
    return (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000


def bench_queries(index: kb.KnowledgeIndex, queries: dict[str, list[str]], warmup: int):
    """{label: [(wall ms, cpu ms)]} per query category (after ``warmup`` untimed queries)."""
    results = {}
    for label, texts in queries.items():
        timings = []
        for i, text in enumerate(texts):
            if label == "suggest":
                timing = _timed(lambda: index.suggest(text, now=NOW, statuses={"published"}))
            else:
                timing = _timed(lambda: index.search(text, now=NOW, statuses={"published"}))
            if i >= warmup:
                timings.append(timing)
        results[label] = timings
    results["multi-word, requester"] = [
        _timed(lambda: index.search(text, now=NOW, statuses={"published"},
                                    audience={"public"}))
        for text in queries["multi-word"][warmup:]]
    # The worst case: posting data not cached yet (a fresh worker, or words nobody searched
    # lately); every query decodes its words' postings from disk.
    cold = []
    for text in queries["multi-word"][warmup:warmup + 30]:
        kb.fastrank.clear_cache()
        cold.append(_timed(lambda: index.search(text, now=NOW, statuses={"published"})))
    results["multi-word, cold cache"] = cold
    return results


def bench_single_updates(index: kb.KnowledgeIndex, count: int, seed: int, n: int) -> list[float]:
    docs = list(generate_articles(n, seed + 1))
    timings = []
    for doc in docs:
        doc = kb.ArticleDoc(**{**doc.__dict__, "id": count + doc.id})
        start = time.perf_counter()
        index.upsert([doc])
        timings.append((time.perf_counter() - start) * 1000)
    index.delete([count + doc.id for doc in docs])
    return timings


def bench_suggest_http(url: str, texts: list[str], headers: dict[str, str],
                       param: str = "text") -> list[float]:
    """Latency of the suggest endpoint over HTTP: GET ``url?<param>=<text>`` for each text
    (ms), one request at a time on a kept-alive connection."""
    import http.client

    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    timings = []
    try:
        for text in texts:
            target = parsed.path + "?" + urllib.parse.urlencode({param: text[:1500]})
            start = time.perf_counter()
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"suggest endpoint answered {response.status}: {body[:300]}")
            timings.append((time.perf_counter() - start) * 1000)
    finally:
        conn.close()
    return timings


# --- the suggest endpoint under gunicorn (--http) -------------------------------------------

def _load_articles_in_process(count: int, seed: int) -> None:
    """Insert the generated articles as rows (ids 1..count) into the app's database."""
    import sqlalchemy as sa

    from servicedesk import create_app
    from servicedesk.accounts.models import User
    from servicedesk.extensions import db
    from servicedesk.knowledge.models import Article

    with create_app().app_context():
        author = db.session.scalar(sa.select(User.id).order_by(User.id).limit(1))
        rows = []
        for doc in generate_articles(count, seed):
            rows.append(dict(
                id=doc.id, title=doc.title[:200], symptoms=doc.symptoms, cause=doc.cause,
                resolution=doc.resolution, body=doc.body, tags=list(doc.tags),
                language=doc.language[:8], audience=doc.audience, status=doc.status,
                author_id=author, is_must_read=False, is_known_error=doc.is_known_error,
                revision=1, view_count=0, use_count=doc.uses, helpful_count=doc.helpful,
                unhelpful_count=doc.unhelpful, last_used_at=doc.last_used_at,
                created_at=doc.updated_at, updated_at=doc.updated_at, version=1))
            if len(rows) == 5000:
                db.session.execute(sa.insert(Article), rows)
                rows = []
        if rows:
            db.session.execute(sa.insert(Article), rows)
        db.session.commit()
    print(count)


def bench_http(index_path: Path, args, texts: list[str]) -> tuple[list[float], float | None]:
    """Start the app under gunicorn on a scratch database whose articles match the index and
    time the suggest endpoint; returns (timings ms, gunicorn CPU s per request or None)."""
    import intake  # bench/intake.py: scratch database, bootstrap, gunicorn helpers

    with intake.database("sqlite", "kb_suggest") as url:
        instance = Path(tempfile.mkdtemp(prefix="kb-bench-app-"))
        try:
            env = intake.server_env(url, instance)
            env["KB_INDEX_DIR"] = str(index_path)
            env["KB_SYNC_INDEX"] = "0"
            users = intake.bootstrap(env)
            subprocess.run([sys.executable, __file__, "--load-db", str(args.articles),
                            "--seed", str(args.seed)], env=env, cwd=intake.ROOT, check=True,
                           capture_output=True, text=True)
            port = intake.free_port()
            with intake.gunicorn(env, port, args.http_workers, 1,
                                 instance / "gunicorn.log") as master:
                url = f"http://{intake.HOST}:{port}/api/v1/kb/suggest"
                headers = {"Authorization": f"Bearer {users['token']}"}
                # Warm every worker (index open, jieba's dictionary) before timing.
                bench_suggest_http(url, texts[: args.warmup] * args.http_workers, headers)
                cpu_before = intake.server_cpu_seconds(master)
                timings = bench_suggest_http(url, texts[args.warmup:], headers)
                cpu_after = intake.server_cpu_seconds(master)
            per_request = None
            if cpu_before is not None and cpu_after is not None and timings:
                per_request = (cpu_after - cpu_before) / len(timings)
            return timings, per_request
        finally:
            shutil.rmtree(instance, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="per category")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--procs", type=int, default=None, help="rebuild workers (default: cores)")
    parser.add_argument("--limitmb", type=int, default=kb.index.REBUILD_LIMITMB)
    parser.add_argument("--dir", type=Path, default=None, help="index directory (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the index directory")
    parser.add_argument("--reuse-index", type=Path, default=None,
                        help="query this existing index instead of rebuilding")
    parser.add_argument("--updates", type=int, default=20, help="single-document upserts")
    parser.add_argument("--http", action="store_true",
                        help="also time the suggest endpoint under gunicorn")
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--suggest-url", default=None, help="time this running endpoint")
    parser.add_argument("--header", action="append", default=[], help="'Name: value' for HTTP")
    parser.add_argument("--load-db", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_db is not None:
        _load_articles_in_process(args.load_db, args.seed)
        return 0

    workdir = args.dir or Path(tempfile.mkdtemp(prefix="kb-bench-"))
    path = args.reuse_index or workdir / "index"
    print(f"kb benchmark: {args.articles:,} articles, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at start, index in {path}")
    try:
        if args.reuse_index:
            index = kb.open_index(path, create=False)
            print(f"reusing the index at {path}: {index.doc_count():,} documents (no rebuild)")
        else:
            gen_seconds = bench_generation_only(args.articles, args.seed)
            print(f"article generation alone: {gen_seconds:.1f} s (included in the rebuild)")
            index, seconds, marks, cpu = bench_rebuild(
                path, args.articles, args.seed, args.procs, args.limitmb
            )
            size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            print(f"full rebuild: {seconds:.1f} s wall = {args.articles / seconds:,.0f} "
                  f"articles/s (target < 180 s at 100,000); {cpu:.0f} CPU s over all "
                  f"processes; index size {size / 2**20:.0f} MiB; "
                  f"{index.doc_count():,} documents")
            for done, at in marks:
                print(f"  {done:>7,} fed after {at:6.1f} s")

        rng = random.Random(args.seed)
        queries = query_sets(rng, args.queries + args.warmup)
        print(f"query latency, one KnowledgeIndex, statuses={{published}} "
              f"({args.queries} timed after {args.warmup} warm-up; target p95 < 30 ms):")
        for label, timings in bench_queries(index, queries, args.warmup).items():
            report(label, [w for w, _ in timings], [c for _, c in timings])

        updates = bench_single_updates(index, args.articles, args.seed, args.updates)
        print(f"single-article upsert (commit + searcher refresh on next query) at "
              f"{args.articles:,} articles:")
        report("upsert", updates)
        after = []
        for text in queries["one-word"][: args.warmup]:
            index.upsert([next(generate_articles(1, args.seed + 7))])
            after.append(_timed(lambda: index.search(text, now=NOW, statuses={"published"})))
        report("first query after write", [w for w, _ in after], [c for _, c in after])

        texts = queries["suggest"]
        if args.http:
            timings, cpu = bench_http(path, args, texts)
            print(f"suggest endpoint over HTTP, gunicorn {args.http_workers} sync workers, "
                  f"one client (target p95 < 60 ms):")
            report("GET /api/v1/kb/suggest", timings)
            if cpu is not None:
                print(f"  server CPU per request {cpu * 1000:.1f} ms")
        elif args.suggest_url:
            headers = dict(h.split(":", 1) for h in args.header)
            headers = {k.strip(): v.strip() for k, v in headers.items()}
            timings = bench_suggest_http(args.suggest_url, texts, headers)[args.warmup:]
            print("suggest endpoint over HTTP (target p95 < 60 ms):")
            report("suggest over HTTP", timings)
        else:
            print("suggest endpoint over HTTP: skipped (--http to run it)")
        index.close()
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
