#!/usr/bin/env python3
"""Generate the synthetic rule sets of issue 5 for the CityLots benchmark.

    bench/make_rules.py [--data bench/data] [--out bench/data/rules] [--force]

Reads citylots.ndjson (see bench/fetch_data.sh) and writes JSON rule files (pattern dialect,
docs/rules-pattern.md) into OUT (git-ignored with the rest of bench/data):

  exact-1.json, exact-1k.json, exact-10k.json, exact-100k.json
      properties.BLKLOT equal to one of the first N distinct values in the file, one rule each
  prefix-1k.json
      {"prefix": P} on properties.STREET: the distinct 3-letter prefixes of the street names in
      order of first appearance, then the 4-letter ones, up to 1,000 rules
  wildcard-1k.json
      {"wildcard": "*xy*"} on properties.STREET: distinct 2-letter then 3-letter substrings of
      the street names (letters and digits only), in order of first appearance, up to 1,000
  numeric-100.json
      100 latitude bands {"numeric": [">=", lo, "<", lo + 0.0014]} on geometry.coordinates,
      lo = 37.70 + i * 0.0014 (exact decimals)
  row1.json
      the four patterns of quamina's and event-ruler's CityLots benchmark (peer table row 1):
      STREET "CRANLEIGH"; STREET "17TH" with ODD_EVEN "E"; a coordinates number; and
      MAPBLKLOT/BLKLOT "0011008" with that coordinates number
  mixed.json
      36 patterns of mixed operators on `properties` only (exact, prefix, suffix, wildcard,
      equals-ignore-case, anything-but, exists, null, $or, several fields)

  portal-10k.json (with DATA/portal.ndjson)
      10,000 `events` rules (portal event URIs, docs/rules.md) over a synthetic ArcGIS portal
      webhook stream: 300,000 payloads shaped like examples/arcgis-portal-webhooks (one
      element in `events` with source, id, operation), ids drawn from fixed pools; the URIs
      mix /items/<id>/<op>, /items/<id>, /groups/<id>/<op>, /users/<name>/<op> and a few
      collection-wide ones. run_bench.sh skips the set when the build has no `events` dialect.

Idempotent: a stamp file records the input size and this script's hash; nothing is rewritten
when both are unchanged, unless --force.
"""
import argparse
import decimal
import hashlib
import json
import os
import sys

SETS = ["exact-1", "exact-1k", "exact-10k", "exact-100k", "prefix-1k", "wildcard-1k",
        "numeric-100", "row1", "mixed", "portal-10k"]
PORTAL_EVENTS = 300000


def write_rules(path, rules):
    """rules: list of (id, pattern). One rule a line, so diffs and greps stay readable."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write('{"rules": [\n')
        for i, (rid, pattern) in enumerate(rules):
            sep = ",\n" if i + 1 < len(rules) else "\n"
            f.write(json.dumps({"id": rid, "pattern": pattern}, separators=(",", ":")) + sep)
        f.write("]}\n")
    os.replace(tmp, path)


def scan(citylots):
    """First-appearance-ordered distinct BLKLOT values and STREET names."""
    blklots, streets = {}, {}
    with open(citylots, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            props = json.loads(line).get("properties") or {}
            b = props.get("BLKLOT")
            if isinstance(b, str) and b not in blklots:
                blklots[b] = None
            s = props.get("STREET")
            if isinstance(s, str) and s not in streets:
                streets[s] = None
    return list(blklots), list(streets)


def distinct(seq):
    return list(dict.fromkeys(seq))


ITEM_OPS = ["add", "delete", "update", "move", "publish", "share", "unshare", "reassign",
            "addComment"]
GROUP_OPS = ["add", "update", "delete", "protect", "invite", "addUsers", "removeUsers",
             "itemShare", "itemUnshare"]
USER_OPS = ["add", "signin", "signout", "delete", "update", "disable", "enable",
            "updateUserRole"]


def write_portal(out, events_path):
    """Synthetic ArcGIS portal webhook payloads and 10k portal-URI rules over them."""
    import random
    rnd = random.Random(5)  # deterministic
    hexid = lambda: "%032x" % rnd.getrandbits(128)
    items = [hexid() for _ in range(50000)]
    groups = [hexid() for _ in range(5000)]
    users = ["user%05d" % i for i in range(20000)]
    user_ids = {u: hexid() for u in users}
    tmp = events_path + ".tmp"
    when = 1716193261000
    with open(tmp, "w") as f:
        for k in range(PORTAL_EVENTS):
            r = rnd.random()
            if r < 0.6:
                source, oid, op = rnd.choice(["item", "items"]), rnd.choice(items), rnd.choice(ITEM_OPS)
            elif r < 0.8:
                source, oid, op = "group", rnd.choice(groups), rnd.choice(GROUP_OPS)
            elif r < 0.97:
                source, op = "user", rnd.choice(USER_OPS)
                oid = rnd.choice(users)
            else:
                source, oid, op = "role", hexid(), rnd.choice(["add", "update", "delete"])
            actor = rnd.choice(users)
            props = {"sharedToGroups": [rnd.choice(groups)]} if op in ("share", "itemShare") else {}
            ev = {"info": {"webhookName": "Org monitor", "webhookId": "72fed926aeb74c9ca8a22aacddc6725a",
                           "portalURL": "https://gis.example.com/portal/", "when": when + 350},
                  "properties": {},
                  "events": [{"id": oid, "operation": op, "source": source,
                              "userId": user_ids[actor], "username": actor, "when": when,
                              "properties": props}]}
            when += rnd.randrange(1, 5000)
            f.write(json.dumps(ev, separators=(",", ":")) + "\n")
    os.replace(tmp, events_path)

    rules = []
    for i in range(10000):
        r = rnd.random()
        if r < 0.5:
            uri = f"/items/{rnd.choice(items)}/{rnd.choice(ITEM_OPS)}"
        elif r < 0.7:
            uri = f"/items/{rnd.choice(items)}"
        elif r < 0.85:
            uri = f"/groups/{rnd.choice(groups)}/{rnd.choice(GROUP_OPS)}"
        elif r < 0.999:
            uri = f"/users/{rnd.choice(users)}/{rnd.choice(USER_OPS)}"
        else:
            uri = rnd.choice(["/items/share", "/groups/addUsers", "/users/signin", "/roles"])
        rules.append({"id": f"portal-{i}", "events": [uri]})
    path = os.path.join(out, "portal-10k.json")
    with open(path + ".tmp", "w") as f:
        f.write('{"rules": [\n')
        f.write(",\n".join(json.dumps(r, separators=(",", ":")) for r in rules))
        f.write("\n]}\n")
    os.replace(path + ".tmp", path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get("WEIR_BENCH_DATA", os.path.join(here, "data")))
    ap.add_argument("--out", default=None, help="default: DATA/rules")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    citylots = os.path.join(args.data, "citylots.ndjson")
    out = args.out or os.path.join(args.data, "rules")
    if not os.path.exists(citylots):
        sys.exit(f"make_rules.py: {citylots} is missing; run bench/fetch_data.sh first")
    os.makedirs(out, exist_ok=True)

    with open(os.path.abspath(__file__), "rb") as f:
        me = hashlib.sha256(f.read()).hexdigest()
    stamp_text = f"{os.path.getsize(citylots)} {me}\n"
    stamp = os.path.join(out, ".stamp")
    if (not args.force and os.path.exists(stamp) and open(stamp).read() == stamp_text
            and all(os.path.exists(os.path.join(out, s + ".json")) for s in SETS)):
        print(f"make_rules.py: rule sets in {out} are up to date", file=sys.stderr)
        return

    blklots, streets = scan(citylots)
    log = lambda *a: print("make_rules.py:", *a, file=sys.stderr)
    log(f"{len(blklots)} distinct BLKLOT values, {len(streets)} distinct STREET names")

    # Exact values.
    for name, n in [("exact-1", 1), ("exact-1k", 1000), ("exact-10k", 10000),
                    ("exact-100k", 100000)]:
        if len(blklots) < n:
            sys.exit(f"make_rules.py: only {len(blklots)} distinct BLKLOT values, need {n}")
        write_rules(os.path.join(out, name + ".json"),
                    [(f"blklot-{i}", {"properties": {"BLKLOT": [v]}})
                     for i, v in enumerate(blklots[:n])])

    # Prefixes: the 3-letter ones, then 4-letter ones.
    p3 = distinct(s[:3] for s in streets if len(s) >= 3)
    p4 = distinct(s[:4] for s in streets if len(s) >= 4)
    prefixes = (p3 + p4)[:1000]
    log(f"{len(p3)} distinct 3-letter street prefixes; prefix set has {len(prefixes)}")
    write_rules(os.path.join(out, "prefix-1k.json"),
                [(f"prefix-{i}", {"properties": {"STREET": [{"prefix": p}]}})
                 for i, p in enumerate(prefixes)])

    # Wildcards *xy*: 2-letter then 3-letter substrings (letters and digits only).
    def subs(k):
        for s in streets:
            for i in range(len(s) - k + 1):
                t = s[i:i + k]
                if t.isascii() and t.isalnum():
                    yield t
    w2, w3 = distinct(subs(2)), distinct(subs(3))
    wild = (w2 + w3)[:1000]
    log(f"{len(w2)} distinct 2-letter, {len(w3)} 3-letter substrings; wildcard set has {len(wild)}")
    write_rules(os.path.join(out, "wildcard-1k.json"),
                [(f"wildcard-{i}", {"properties": {"STREET": [{"wildcard": f"*{w}*"}]}})
                 for i, w in enumerate(wild)])

    # Numeric latitude bands, exact decimals (no binary float drift in the bounds).
    D = decimal.Decimal
    bands = []
    for i in range(100):
        lo = D("37.70") + D("0.0014") * i
        hi = lo + D("0.0014")
        bands.append((f"lat-{i}", {"geometry": {"coordinates": [
            {"numeric": [">=", "@LO@", "<", "@HI@"]}]}}, lo, hi))
    # json.dumps would write floats; splice the exact decimal text in instead.
    path = os.path.join(out, "numeric-100.json")
    with open(path + ".tmp", "w") as f:
        f.write('{"rules": [\n')
        for i, (rid, pat, lo, hi) in enumerate(bands):
            text = json.dumps({"id": rid, "pattern": pat}, separators=(",", ":"))
            text = text.replace('"@LO@"', str(lo)).replace('"@HI@"', str(hi))
            f.write(text + (",\n" if i + 1 < len(bands) else "\n"))
        f.write("]}\n")
    os.replace(path + ".tmp", path)

    # Peer table row 1: the patterns of quamina's and event-ruler's CityLots benchmark.
    coord = "@COORD@"
    row1 = [
        ("CRANLEIGH", {"properties": {"STREET": ["CRANLEIGH"]}}),
        ("17TH-Even", {"properties": {"STREET": ["17TH"], "ODD_EVEN": ["E"]}}),
        ("Geometry", {"geometry": {"coordinates": [coord]}}),
        ("0011008", {"properties": {"MAPBLKLOT": ["0011008"], "BLKLOT": ["0011008"]},
                     "geometry": {"coordinates": [coord]}}),
    ]
    path = os.path.join(out, "row1.json")
    with open(path + ".tmp", "w") as f:
        f.write('{"rules": [\n')
        for i, (rid, pat) in enumerate(row1):
            text = json.dumps({"id": rid, "pattern": pat}, separators=(",", ":"))
            f.write(text.replace('"@COORD@"', "37.807807921694092") +
                    (",\n" if i + 1 < len(row1) else "\n"))
        f.write("]}\n")
    os.replace(path + ".tmp", path)

    # Mixed operators on `properties` only (no rule names `geometry`, so matching may stop
    # reading an event once `properties` is done).
    P = lambda **kw: {"properties": kw}
    mixed = [
        ("street-cranleigh", P(STREET=["CRANLEIGH"])),
        ("street-market", P(STREET=["MARKET", "MISSION", "VALENCIA"])),
        ("17th-even", P(STREET=["17TH"], ODD_EVEN=["E"])),
        ("24th-odd", P(STREET=["24TH"], ODD_EVEN=["O"])),
        ("blklot-0011008", P(BLKLOT=["0011008"])),
        ("mapblklot-several", P(MAPBLKLOT=["0001001", "0002001", "3512008", "6500001"])),
        ("block-0001", P(BLOCK_NUM=["0001"])),
        ("st-type-null", P(ST_TYPE=[None], STREET=[{"prefix": "ZA"}])),
        ("st-type-absent", P(ST_TYPE=[{"exists": False}], STREET=[{"prefix": "Q"}])),
        ("prefix-cal", P(STREET=[{"prefix": "CAL"}])),
        ("prefix-san", P(STREET=[{"prefix": "SAN "}])),
        ("prefix-numbered", P(STREET=[{"prefix": "4"}], ODD_EVEN=["O"])),
        ("prefix-blklot", P(BLKLOT=[{"prefix": "7"}], LOT_NUM=["001"])),
        ("suffix-lot-009", P(LOT_NUM=[{"suffix": "009"}])),
        ("suffix-street-ton", P(STREET=[{"suffix": "TON"}], ST_TYPE=["ST"])),
        ("suffix-blklot-a", P(BLKLOT=[{"suffix": "A"}])),
        ("wildcard-ster", P(STREET=[{"wildcard": "*STER*"}])),
        ("wildcard-park", P(STREET=[{"wildcard": "*PARK*"}], ST_TYPE=["AVE", "ST"])),
        ("wildcard-two", P(STREET=[{"wildcard": "S*N*O"}])),
        ("wildcard-lot", P(MAPBLKLOT=[{"wildcard": "00*1"}])),
        ("eic-street", P(STREET=[{"equals-ignore-case": "lombard"}])),
        ("eic-type", P(ST_TYPE=[{"equals-ignore-case": "way"}])),
        ("prefix-eic", P(STREET=[{"prefix": {"equals-ignore-case": "gold"}}])),
        ("anything-but-type", P(ST_TYPE=[{"anything-but": ["ST", "AVE", "WAY", "BLVD"]}],
                                ODD_EVEN=["O"], STREET=[{"prefix": "B"}])),
        ("anything-but-prefix", P(STREET=[{"anything-but": {"prefix": "A"}}],
                                  BLOCK_NUM=["0100", "0200", "0300"])),
        ("anything-but-lot", P(LOT_NUM=[{"anything-but": "001"}], BLOCK_NUM=["0400"])),
        ("from-st-zero", P(FROM_ST=["0"], TO_ST=["0"], STREET=[{"prefix": "M"}])),
        ("from-to-exact", P(FROM_ST=["100"], TO_ST=["198"])),
        ("exists-type-street", P(ST_TYPE=[{"exists": True}], STREET=["FOLSOM"])),
        ("or-streets", {"$or": [P(STREET=["HAIGHT"]), P(STREET=["ASHBURY"]),
                                P(BLKLOT=[{"prefix": "1250"}])]}),
        ("or-types", {"properties": {"$or": [{"ST_TYPE": ["TER"]}, {"ST_TYPE": ["PL"]}],
                                     "ODD_EVEN": ["E"]}}),
        ("many-values", P(STREET=["BRYANT", "HARRISON", "FOLSOM", "HOWARD", "NATOMA",
                                  "TEHAMA", "CLEMENTINA", "SHIPLEY", "CLARA", "PERRY"])),
        ("lot-range", P(LOT_NUM=["010", "011", "012", "013", "014", "015"], ODD_EVEN=["E"])),
        ("block-prefix", P(BLOCK_NUM=[{"prefix": "66"}], LOT_NUM=[{"suffix": "0"}])),
        ("unknown-street", P(STREET=["UNKNOWN"], ODD_EVEN=["E"])),
        ("mixed-leaf", P(STREET=["CASTRO", {"prefix": "NOE"}, {"suffix": "VIEW"},
                                 {"wildcard": "*DOLORES*"}])),
    ]
    write_rules(os.path.join(out, "mixed.json"), mixed)

    write_portal(out, os.path.join(args.data, "portal.ndjson"))

    with open(stamp, "w") as f:
        f.write(stamp_text)
    log(f"wrote {len(SETS)} rule sets into {out}")


if __name__ == "__main__":
    main()
