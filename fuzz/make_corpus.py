#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/corpus/<target>/ from the examples
and the test data (plus a few hand-written seeds aimed at the fuzzers' fixed
rule set). Files are named by the SHA-1 of their content, as libFuzzer does.
Run from anywhere: python3 fuzz/make_corpus.py"""
import decimal
import hashlib
import json
import pathlib
import re
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"

# Events aimed at the paths and predicates of fuzz/fuzz_rules.h.
HAND_EVENTS = [
    '{"employees":[{"firstName":"Anna","lastName":"Jones"},{"firstName":"Peter","lastName":"Smith"}]}',
    '{"employees":[{"firstName":"Anna","lastName":"Smith"}],"top":1}',
    '{"a":{"b":[{"c":"x","d":1},{"c":"yz","d":2.5}],"e":[null,true]},"top":"t"}',
    '{"a":{"b":[[{"c":"x"}],[{"d":3}]],"e":"E"},"top":[]}',
    '{"g":[[{"h":1,"i":"no"}],[{"h":"x","i":"yes"}]]}',
    '{"n":35,"m":-1.4,"s":"init-x"}',
    '{"n":3.5e1,"m":"bad","s":"stopped"}',
    '{"n":-0.0,"m":0,"s":"photo.PNG"}',
    '{"n":37.8078079216940920,"s":"a/lib/b"}',
    '{"n":1e400,"s":"*\\\\","b":true,"c":null}',
    '{"n":100,"s":"x"}',
    '{"n":2E2,"s":"aXbXc"}',
    '{"n":5,"m":[1,2,"bad"]}',
    '{"n":1e9,"n":0.001}',
    '{"f":"\\u00c9T\\u00c9","s":"\\u00e9t\\u00e9"}',
    '{"f":"\\u03a3\\u03c2","message":{"jobStatus":"oPeN"}}',
    '{"f":"\\u212aKELVIN"}',
    '{"f":"A\\u00dfC","k":"D-x"}',
    '{"ip":"10.0.0.7","ip6":"fe80::1"}',
    '{"ip":"2001:0DB8:0:0::1","ip6":"::ffff:10.0.0.1"}',
    '{"ip":"10.0.0.256","ip6":"1:2:3:4:5:6:7:8:9"}',
    '{"ip":["192.168.1.1","10.1.1.1"],"ip6":"::"}',
    '{"detail.state.status":"running","detail":{"x":0}}',
    '{"detail":{"state.status":"running","x":[1]}}',
    '{"detail":{"state":{"status":"running"}},"detail.x":"y"}',
    '{"detail":"flat","detail.state":{"status":"running"},"detail.x":false}',
    '{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":{"d":1}}}}}}}}}}}}}}}',
    '{"d":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}',
    '{"k\\"q":"v","uni":{"\\u043a\\u043b\\u044e\\u0447":"z"}}',
    '{"x":"1","y":1.0}',
    '{"e":"there","event":"E"}',
    '{"zz":null,"x":[]}',
    '{"k":"a1","mixed":12}',
    '{"k":7.5,"mixed":"1x"}',
    '{"k":"10.9.9.9","mixed":[1,"1",true]}',
    '{"a":"xayb-c","b":"anything","c":false}',
    '{"a":"x*y","inputParams":{"other":-0}}',
    '{"a":"","b":null,"resource":{"archived":true}}',
    '{"Type":"","Jobs":[{"State":"Pending","Robot":{"Name":"bench-1"}}]}',
    '{"events":[{"operation":"share","source":"item","id":"x"},{"operation":"share","source":"item","id":"y"}]}',
    '{"info":{"when":1716193261350},"events":[]}',
    '{"e\\u0076ent":"resource.ResourceCreated","resource":{"type":"itemsvc.Item"}}',
    '{}',
    ' {"a":"z"} ',
    '{"a":"\\ud83d\\ude00z"}',
]

# Events for the cut rules of fuzz/fuzz_rules.h (CutRuleDefs): `p` first, then
# arrays of numbers long enough to be checked on their bytes after the cut.
def _cut_events():
    ring = ", ".join("[ -122.42200352%02d, 37.80%d, 0.0 ]" % (i * 7, i) for i in range(12))
    compact = ",".join("[%d,-0.%d5]" % (i, i) for i in range(24))
    flat = ", ".join("%d.25, -%d" % (i * 1234567, i) for i in range(20))
    return [
        '{"type":"Feature","p":{"s":"abc","n":1},"geometry":{"type":"Polygon",'
        '"coordinates":[ [ ' + ring + ' ] ]}}',
        '{"p":{"s":1},"g":[' + compact + ',[],' + compact + '],"t":"x"}',
        '{"p":{"zz":0},"a":[ ' + flat + ' ],"b":[1e5, ' + flat + ']}',
        '{"p":{},"d":[[[[[[[[[[[[0]]]]]]]]]]], [ ' + flat + ' ]]}',
        '{"p":{"s":"a"},"q":[ ' + flat + ', "x", ' + flat + ' ]}',
    ]


HAND_EVENTS += _cut_events()

HAND_RULES = [
    # JSON rule file, filter dialect and inline actions with ${VAR}s.
    '{"version": 1, "rules": [{"id": "j1", "filter": {"a.b": ["x*", "*y"], "c": null}, '
    '"actions": [{"webhook": {"url": "https://h/${TOKEN}", "secret": "${NOPE:-d}", '
    '"signature": "github", "retry": {"attempts": 3}, "headers": {"X": "1"}}}]}], '
    '"actions": {"log": {"file": {"path": "${HOME}/log"}}}}',
    # Every pattern operator in YAML.
    'rules:\n  - id: p1\n    pattern:\n      detail:\n        amount: [{numeric: [">=", 1000, "<", 1e6]}]\n'
    '        currency: [EUR, USD, 3, true, null]\n        coupon: [{exists: false}]\n'
    '        ip: [{cidr: 10.0.0.0/24}]\n        name: [{prefix: {equals-ignore-case: AbC}}, {suffix: .png}]\n'
    '        path: [{wildcard: "*/lib/*"}, {anything-but: {prefix: init}}]\n'
    '        tags: [{anything-but: [1, 2.5]}, {equals-ignore-case: ÉTÉ}]\n'
    '      $or:\n        - source: [shop.web]\n        - detail: {channel: [{equals-ignore-case: phone}]}\n'
    '    actions: [stdout]\n',
    # uri_fields and the events dialect.
    'version: 1\nuri_fields: {events: ev, source: src}\nrules:\n  - id: e1\n    events: [/items/share, "/groups/*/update"]\n',
    # Anchors, aliases, tags, flow style, multi-documents.
    'rules:\n  - &r {id: a1, filter: {a: x}}\n  - *r\n  - {id: !!str 2, filter: {b: !!int 1}, enabled: false}\n',
    'rules: []\n---\nrules: [{id: x}]\n',
    # Two files (split at the NUL byte): duplicate id, action defined in the other file.
    'rules:\n  - {id: dup, filter: {a: "1"}, actions: [shared]}\n\x00'
    '{"rules": [{"id": "dup", "pattern": {"a": ["1"]}}], "actions": {"shared": {"stdout": null}}}',
]


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def write(target: str, items):
    d = OUT / target
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    seen = set()
    for data in items:
        if isinstance(data, str):
            data = data.encode()
        if data in seen:
            continue
        seen.add(data)
        (d / sha1(data)).write_bytes(data)
    print(f"{target}: {len(seen)} seeds")


def lines(path: pathlib.Path):
    return [l for l in path.read_bytes().split(b"\n") if l.strip()]


def spread(items, n):
    """At most n items, evenly spaced."""
    if len(items) <= n:
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def main():
    example_events = sorted(ROOT.glob("examples/*/events.ndjson"))
    test_ndjson = sorted(ROOT.glob("tests/data/*.ndjson"))

    ev = []
    for f in example_events:
        ev += spread([l for l in lines(f) if len(l) <= 4096], 6)
    for f in test_ndjson:
        ev += spread(lines(f), 10)
    ev += [e.encode() for e in HAND_EVENTS]
    write("event_fuzzer", ev)

    nd = []
    for f in example_events:
        ls = lines(f)
        for i in range(0, min(len(ls), 12), 4):
            nd.append(b"\n".join(ls[i:i + 4]) + b"\n")
        nd.append(b"\r\n".join(ls[:3]))  # CRLF, no final newline
    for f in test_ndjson:
        nd.append(f.read_bytes())
    nd.append(("\n".join(HAND_EVENTS[:15]) + "\n").encode())
    nd.append(("\n".join(HAND_EVENTS[15:]) + "\n\n\n").encode())
    nd.append(b'{"a":"' + b"x" * 60 + b'"}\r\n{"b":1}\n' + b"y" * 30 + b"\r\n\r\n{}")
    write("ndjson_fuzzer", nd)

    ru = []
    for f in sorted(ROOT.glob("examples/*/*.yaml")) + sorted(ROOT.glob("tests/data/*.yaml")):
        ru.append(f.read_bytes())
    cases = json.loads((ROOT / "tests/data/pattern_cases.json").read_text(),
                       parse_float=decimal.Decimal, parse_int=decimal.Decimal)

    def num(o):
        # Numbers stay as written in the case file (3.5e1, -0, long digits).
        def mark(v):
            if isinstance(v, decimal.Decimal):
                return "\x00NUM" + str(v) + "\x00"
            if isinstance(v, list):
                return [mark(x) for x in v]
            if isinstance(v, dict):
                return {k: mark(x) for k, x in v.items()}
            return v
        text = json.dumps(mark(o), ensure_ascii=False)
        return re.sub(r'"\\u0000NUM([^"]*)\\u0000"', r"\1", text)

    for c in spread(cases, 30):
        rule = {"id": "c", "pattern": c["pattern"]}
        ru.append(num({"rules": [rule]}).encode())
    ru += [r.encode() for r in HAND_RULES]
    write("rules_fuzzer", ru)


if __name__ == "__main__":
    main()
