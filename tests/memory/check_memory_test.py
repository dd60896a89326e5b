#!/usr/bin/env python3
"""weir check stays within four times the size of its rule files (docs/limits.md, "Memory").

Generates rule files of ordinary shape, 400,000 rules each (exact fields in the pattern
dialect, JSON and YAML), runs `weir check` on each and compares the peak RSS of the child
(getrusage) with the file size. The process alone is about 15 MB; the files are large enough
for that not to decide. Release builds only: sanitizers multiply memory.

    WEIR=build/bindings/cli/weir python3 tests/memory/check_memory_test.py
"""
import json
import os
import resource
import subprocess
import sys
import tempfile

RULES = 400_000
LIMIT = 4.0


def write_json(path, rule_of):
    with open(path, "w") as f:
        f.write('{"rules": [\n')
        for i in range(RULES):
            f.write(("  " if i == 0 else " ,") + json.dumps(rule_of(i)) + "\n")
        f.write("]}\n")


def json_rules(path):
    write_json(path, lambda i: {
        "id": f"rule-{i:06d}",
        "pattern": {"detail": {"state": [f"state-{i}"], "owner": [f"user-{i * 7 % 1000003}"]}}})


def eventbridge_rules(path):
    write_json(path, lambda i: {
        "id": f"subscription-{i:07d}",
        "pattern": {"source": ["aws.ec2"],
                    "detail": {"state": [f"instance-state-{i}"],
                               "owner": [f"arn:aws:iam::{i * 7 % 1000003:012d}"]}}})


def yaml_rules(path):
    with open(path, "w") as f:
        f.write("version: 1\nactions:\n  log: {stdout: {}}\nrules:\n")
        for i in range(RULES):
            f.write(f"  - id: sub-{i:06d}\n    pattern: {{message: {{jobId: [AW{i:018d}]}}}}\n"
                    "    actions: [log]\n")


def peak_of_check(weir, path):
    # A fresh child per file: RUSAGE_CHILDREN's maximum covers every child
    # waited for, so each check runs under its own python.
    code = ("import resource, subprocess, sys\n"
            "r = subprocess.run([sys.argv[1], 'check', sys.argv[2]], capture_output=True, text=True)\n"
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.stderr.write(r.stdout + r.stderr)\n")
    out = subprocess.run([sys.executable, "-c", code, weir, path], capture_output=True, text=True)
    rc, kb = out.stdout.split()
    return int(rc), int(kb) * 1024, out.stderr


def main():
    weir = os.environ.get("WEIR", "build/bindings/cli/weir")
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        for name, make in (("rules.json", json_rules), ("eventbridge.json", eventbridge_rules),
                           ("rules.yaml", yaml_rules)):
            path = os.path.join(d, name)
            make(path)
            size = os.path.getsize(path)
            rc, peak, text = peak_of_check(weir, path)
            ratio = peak / size
            ok = rc == 0 and ratio < LIMIT
            print(f"{name}: {RULES} rules, {size / 1e6:.1f} MB, weir check peak {peak / 1e6:.1f} MB "
                  f"({ratio:.2f}x, limit {LIMIT}x): {'ok' if ok else 'FAILED'}")
            if rc != 0:
                print(text)
            failed += not ok
            os.remove(path)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
