#!/usr/bin/env python3
"""weir's Python module against the C API and the C++ Matcher, on the same events.

Run by bench/bindings_bench.sh (which builds the module and bindings_bench), or:

    .venv/bin/python bench/python_bench.py --cxx-bench /tmp/bb/bindings_bench

Prints the load average, events/s through the C++ Matcher, the C API and
Engine.match_many (with the Python binding's overhead per event), two and
four threads calling match_many against one, and the cost of adding 20,000
subscriptions one at a time, matching, removing half, matching again.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import weir

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ["workflow-manager", "workflow-service", "arcgis-portal-webhooks"]


def example_events():
    out = []
    for ex in EXAMPLES:
        for line in (ROOT / "examples" / ex / "events.ndjson").read_text().splitlines():
            try:
                if isinstance(json.loads(line), dict):
                    out.append(line)
            except ValueError:
                pass
    return out


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cxx-bench", help="bindings_bench binary (C++ and C API figures)")
    ap.add_argument("--events", type=int, default=50_000, help="events per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--subscriptions", type=int, default=20_000)
    args = ap.parse_args()
    os.environ.setdefault("HOOK_SECRET", "bench-secret")

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"cpus: {os.cpu_count()}, python: {sys.version.split()[0]}, weir {weir.__version__}")
    base = example_events()
    events = (base * (args.events // len(base) + 1))[: args.events]
    rule_files = [ROOT / "examples" / ex / "rules.yaml" for ex in EXAMPLES]

    cxx = None
    if args.cxx_bench:
        with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as f:
            f.write("\n".join(events) + "\n")
            path = f.name
        try:
            res = subprocess.run([args.cxx_bench, path, *map(str, rule_files),
                                  "--rounds", str(args.rounds)],
                                 check=True, capture_output=True, text=True)
        finally:
            os.unlink(path)
        lines = res.stdout.strip().splitlines()
        print("\n".join(lines[:-1]))
        cxx = json.loads(lines[-1])

    engine = weir.Engine()
    for f in rule_files:
        engine.add(f.read_text(), name=str(f.relative_to(ROOT)))
    engine.match_many(events[:1000])  # warm the matcher pool
    # Thread CPU time (the GIL is released, but matching runs on this thread):
    # on a shared machine, waiting for a core is not the binding's cost.
    times = []
    for _ in range(args.rounds):
        t0 = time.thread_time()
        res = engine.match_many(events)
        times.append(time.thread_time() - t0)
    ns = statistics.median(times) / len(events) * 1e9
    line = f"Python Engine.match_many              {1e9 / ns:10.0f} events/s  {ns:7.0f} ns/event"
    if cxx:
        line += (f"  (+{ns - cxx['cxx_validate_match_ns']:.0f} ns over validate+match, "
                 f"+{ns - cxx['c_api_ns']:.0f} ns over the C API)")
    print(line)
    print(f"  matches per round: {sum(len(r) for r in res)}")

    # Scaling: the same work per thread, one thread vs two and four.
    def work(n):
        for _ in range(n):
            engine.match_many(events)

    # Wall time here, and the process's CPU time per wall second ("cores
    # used"): more than 1 is only possible with the GIL released.
    per_thread = args.rounds
    t0, c0 = time.perf_counter(), time.process_time()
    work(per_thread)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    one, one_cores = per_thread * len(events) / wall, cpu / wall
    print(f"match_many, 1 thread:  {one:10.0f} events/s (wall), cores used {one_cores:.2f}")
    for k in (2, 4):
        threads = [threading.Thread(target=work, args=(per_thread,)) for _ in range(k)]
        t0, c0 = time.perf_counter(), time.process_time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rate, cores = k * per_thread * len(events) / wall, cpu / wall
        print(f"match_many, {k} threads: {rate:10.0f} events/s (wall), cores used {cores:.2f}  "
              f"({rate / one:.2f}x events/s, {cores / one_cores:.2f}x cores)")

    # Subscriptions added one at a time, as a service adds them.
    n = args.subscriptions
    subs = weir.Engine()
    add_ns, add_cpu = [], []
    for i in range(n):
        text = f'rules: [{{id: "sub-{i}", pattern: {{message: {{jobId: [job-{i}]}}}}}}]'
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        subs.add(text)
        add_cpu.append(time.thread_time_ns() - c0)
        add_ns.append(time.perf_counter_ns() - t0)
    for what, v in (("wall", add_ns), ("thread CPU", add_cpu)):
        s = sorted(v)
        print(f"{n} add() one at a time ({what}): total {sum(v) / 1e9:.2f} s, "
              f"mean {statistics.fmean(v) / 1e3:.0f} us, p50 {percentile(s, 0.5) / 1e3:.0f} us, "
              f"p99 {percentile(s, 0.99) / 1e3:.0f} us, max {s[-1] / 1e3:.0f} us")
    job_events = [f'{{"msgType":"JobState","message":{{"jobId":"job-{i}"}}}}' for i in range(n)]
    t0 = time.perf_counter()
    hits = sum(len(r) for r in subs.match_many(job_events))
    dt = time.perf_counter() - t0
    print(f"matched {n} events: {hits} matches, {n / dt:.0f} events/s")
    rm_ns = []
    for i in range(0, n, 2):
        t0 = time.perf_counter_ns()
        subs.remove(f"sub-{i}")
        rm_ns.append(time.perf_counter_ns() - t0)
    s = sorted(rm_ns)
    print(f"{len(rm_ns)} remove() one at a time: mean {statistics.fmean(rm_ns) / 1e3:.0f} us, "
          f"p50 {percentile(s, 0.5) / 1e3:.0f} us, p99 {percentile(s, 0.99) / 1e3:.0f} us, "
          f"max {s[-1] / 1e3:.0f} us")
    t0 = time.perf_counter()
    hits2 = sum(len(r) for r in subs.match_many(job_events))
    dt = time.perf_counter() - t0
    print(f"matched {n} events again: {hits2} matches, {n / dt:.0f} events/s")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if hits != n or hits2 != n - len(rm_ns):
        sys.exit("unexpected match counts")


if __name__ == "__main__":
    main()
