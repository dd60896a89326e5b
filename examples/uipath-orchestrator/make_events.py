#!/usr/bin/env python3
"""Regenerate events.ndjson from the UiPath Orchestrator webhook event types (examples/uipath-orchestrator/README.md).

Every payload example in the seed is extracted in the seed's order and compacted onto one
line: whitespace outside strings is removed, nothing else is changed. The seed's malformed
payloads stay malformed, byte for byte apart from that whitespace, so that weir has real bad
input to report and skip:

  * a missing comma stays missing;
  * an object that is never closed stays unclosed (the payload ends where the seed's prose
    resumes);
  * a string that the seed leaves unterminated at the end of a line stays unterminated at the
    end of an NDJSON line: the payload is split there, and the rest of it follows on the next
    line (which is then bad as well).

Usage: make_events.py [--seed PATH] [-o OUT]   (a summary of every line goes to stderr)
"""
import argparse
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_SEED = HERE.parents[2] / "shared" / "seeds" / "001_22bd610ec7f9d061.txt"


def looks_like_json(stripped):
    """A non-blank line that can continue a JSON payload (as opposed to the seed's prose)."""
    return stripped[0] in '{}[]"-0123456789' or stripped.startswith(("true", "false", "null"))


def scan(line):
    """Yield (char, in_string) for one physical line. A string still open at the end of the
    line is unterminated: the caller sees in_string=True for its last character."""
    in_string = False
    escaped = False
    for ch in line:
        if in_string:
            yield ch, True
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        else:
            if ch == '"':
                in_string = True
                yield ch, True
            else:
                yield ch, False


def depth_delta(line):
    d = 0
    for ch, in_string in scan(line):
        if not in_string:
            if ch in "{[":
                d += 1
            elif ch in "}]":
                d -= 1
    return d


def extract(lines):
    """Return the payloads as lists of (seed line number, text)."""
    payloads, cur, depth = [], None, 0
    for no, raw in enumerate(lines, 1):
        raw = raw.rstrip("\n")
        s = raw.strip()
        if cur is None:
            if not s.startswith("{"):
                continue
            cur, depth = [], 0
        else:
            if not s:
                continue
            if not looks_like_json(s):  # prose again: the seed never closed this payload
                payloads.append(cur)
                cur = None
                continue
        cur.append((no, raw))
        depth += depth_delta(raw)
        if depth <= 0:
            payloads.append(cur)
            cur = None
    if cur:
        payloads.append(cur)
    return payloads


def compact(payload):
    """Remove whitespace outside strings. Returns one or more output lines: a string left
    open at the end of a seed line (unterminated) ends the output line there."""
    out, buf = [], []
    for _, raw in payload:
        for ch, in_string in scan(raw):
            if in_string or not ch.isspace():
                buf.append(ch)
        if open_at_eol(raw):
            out.append("".join(buf))
            buf = []
    if buf:
        out.append("".join(buf))
    return out


def open_at_eol(line):
    """True if a string is still open at the end of the line (an unterminated string)."""
    in_string, escaped = False, False
    for ch in line:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
    return in_string


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=pathlib.Path, default=DEFAULT_SEED)
    ap.add_argument("-o", "--output", type=pathlib.Path, default=HERE / "events.ndjson")
    args = ap.parse_args()

    lines = args.seed.read_text(encoding="utf-8").splitlines()
    out_lines = []
    for payload in extract(lines):
        first, last = payload[0][0], payload[-1][0]
        for part in compact(payload):
            out_lines.append((part, first, last))

    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        for text, _, _ in out_lines:
            f.write(text + "\n")

    bad = 0
    for n, (text, first, last) in enumerate(out_lines, 1):
        try:
            ev = json.loads(text)
            status = "ok   " + str(ev.get("Type"))
        except json.JSONDecodeError as e:
            bad += 1
            status = f"BAD  {e.msg} at column {e.colno}"
        print(f"{n:3d}  seed {first}-{last}  {status}", file=sys.stderr)
    print(f"{len(out_lines)} lines, {bad} malformed -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
