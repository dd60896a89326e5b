"""Tests of the Python module (pytest, Debian's python3 in a venv; see
scripts/test.sh). Timings here are sanity bounds, not benchmarks: those are
in bench/python_bench.py."""
import threading
import time

import pytest

import weir


def rule(i, job):
    return f"rules:\n  - id: sub-{i}\n    filter: {{jobId: \"{job}\"}}\n"


def test_version_and_types():
    assert isinstance(weir.__version__, str) and weir.__version__
    assert issubclass(weir.RuleError, ValueError)


def test_add_match_remove():
    e = weir.Engine()
    e.add("""
rules:
  - id: faulted-bench-jobs
    pattern: {Type: [job.faulted], Job: {Robot: {Name: [{prefix: bench-}]}}}
  - id: any-job
    filter: {Type: "job.*"}
""")
    ev = '{"Type":"job.faulted","Job":{"Robot":{"Name":"bench-7"}}}'
    assert e.match(ev) == ["faulted-bench-jobs", "any-job"]
    assert e.match(ev.encode()) == ["faulted-bench-jobs", "any-job"]
    assert e.match('{"Type":"robot.connected"}') == []
    assert e.rule_ids() == ["faulted-bench-jobs", "any-job"]
    assert len(e) == 2
    e.remove("any-job")
    assert e.match(ev) == ["faulted-bench-jobs"]
    with pytest.raises(KeyError):
        e.remove("any-job")


def test_rule_errors_name_line_and_column_and_add_nothing():
    e = weir.Engine()
    e.add(rule(0, "a"))
    with pytest.raises(weir.RuleError) as info:
        e.add("rules:\n  - id: ok\n    filter: {a: b}\n  - id: bad\n    pattern: {a: [{nope: 1}]}\n")
    text = str(info.value)
    assert ":5:" in text and "rule 'bad'" in text
    assert info.value.problems[0]["line"] == 5
    assert e.rule_ids() == ["sub-0"]  # all or none
    with pytest.raises(weir.RuleError, match="exists already"):
        e.add(rule(0, "b"))
    e.add(rule(0, "b"), replace=True)
    assert e.match('{"jobId":"b"}') == ["sub-0"]


def test_malformed_events_raise_value_error():
    e = weir.Engine()
    e.add(rule(0, "a"))
    for bad in ['{"jobId":"a"', '[1]', '{"jobId":"a"} x', b'{"jobId":"\xff"}']:
        with pytest.raises(ValueError):
            e.match(bad)
    with pytest.raises(ValueError, match="event 1"):
        e.match_many(['{"jobId":"a"}', '{"jobId":'])
    with pytest.raises(TypeError):
        e.match(42)


def test_twenty_thousand_subscriptions():
    e = weir.Engine()
    n = 20_000
    worst = 0.0
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter()
        e.add(rule(i, f"job-{i}"))
        worst = max(worst, time.perf_counter() - s)
    per_add = (time.perf_counter() - t0) / n
    events = [f'{{"jobId":"job-{i}"}}' for i in range(n)]
    assert e.match_many(events) == [[f"sub-{i}"] for i in range(n)]
    for i in range(0, n, 2):
        e.remove(f"sub-{i}")
    got = e.match_many(events)
    assert got == [[] if i % 2 == 0 else [f"sub-{i}"] for i in range(n)]
    assert len(e) == n // 2
    print(f"add: {per_add * 1e6:.0f} us mean, {worst * 1e3:.1f} ms worst")
    assert per_add < 1e-3  # each add well under a millisecond, on average


def test_threads_match_while_rules_change():
    e = weir.Engine()
    for i in range(1000):
        e.add(rule(i, f"job-{i}"))
    events = [f'{{"jobId":"job-{i}"}}' for i in range(1000)]
    errors = []

    def matcher():
        try:
            for _ in range(20):
                for i, ids in enumerate(e.match_many(events)):
                    # sub-i may be mid-replacement, but nothing else matches.
                    assert ids in ([], [f"sub-{i}"]), ids
        except Exception as ex:  # noqa: BLE001
            errors.append(ex)

    threads = [threading.Thread(target=matcher) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(0, 1000, 3):
        e.remove(f"sub-{i}")
        e.add(rule(i, f"job-{i}"))
    for t in threads:
        t.join()
    assert not errors, errors[0]
