"""`weir serve`'s webhook registry and delivery guarantees, against real HTTP
receivers on 127.0.0.1."""

import hmac
import json
import signal
import time

from conftest import ROOT, Receiver, hmac_sha256

RULES = "rules:\n  - id: nothing\n    filter: {never: here}\n"

SHARE = json.dumps({"events": [{"id": "6cd80cb32d4a4b4d858a020e57fba7b1", "operation": "share",
                                "source": "item", "username": "jsmith"}]})
OTHER = json.dumps({"events": [{"id": "6cd80cb32d4a4b4d858a020e57fba7b1", "operation": "add",
                                "source": "item"}]})


def quiet(receiver, n, seconds=1.0):
    """No more than n requests arrive within `seconds`."""
    time.sleep(seconds)
    return len(receiver.requests) == n


def test_registry_lifecycle(serve, receiver):
    s = serve(RULES)
    secret = "portal-secret-value"
    status, body = s.json("POST", "/webhooks", {
        "name": "Item shares", "url": receiver.url, "secret": secret,
        "events": ["/items/share"], "signature": "github",
        "config": {"deactivationPolicy": {"numberOfFailures": 5, "daysInPast": 5}}})
    assert status == 201, body
    wid = body["id"]

    # Refused registrations say why and change nothing.
    assert s.json("POST", "/webhooks", {"name": "x", "events": ["/items"]})[0] == 400
    status, body = s.json("POST", "/webhooks", {"name": "x", "url": receiver.url,
                                                "pattern": {"a": "not-a-list"}})
    assert status == 400 and body["error"]
    assert s.json("POST", "/webhooks", {"name": "x", "url": receiver.url, "events": ["/items"],
                                        "colour": "red"})[0] == 400
    status, listing = s.json("GET", "/webhooks")
    assert [w["id"] for w in listing["webhooks"]] == [wid]
    raw = s.request("GET", "/webhooks")[1] + s.request("GET", f"/webhooks/{wid}")[1]
    assert secret.encode() not in raw
    w = s.json("GET", f"/webhooks/{wid}")[1]
    assert w["secret"] == "********" and w["events"] == ["/items/share"] and w["active"]

    # Matched events are delivered, signed; others are not.
    status, ans = s.post_events([SHARE, OTHER])
    assert (status, ans["matched"]) == (202, 1)
    got = receiver.wait_for(1)
    assert len(got) == 1 and got[0]["body"] == SHARE.encode()
    sig = got[0]["headers"]["x-hub-signature-256"]
    assert hmac.compare_digest(sig, "sha256=" + hmac_sha256(secret, SHARE.encode()).hex())

    # Deactivated: nothing; activated again: delivered.
    assert s.json("POST", f"/webhooks/{wid}/deactivate")[0] == 200
    assert s.json("GET", f"/webhooks/{wid}")[1]["active"] is False
    assert s.post_events([SHARE])[1]["matched"] == 0
    assert quiet(receiver, 1)
    assert s.json("POST", f"/webhooks/{wid}/activate")[0] == 200
    assert s.post_events([SHARE])[1]["matched"] == 1
    assert len(receiver.wait_for(2)) == 2

    # Updated: new name and trigger, same secret.
    assert s.json("POST", f"/webhooks/{wid}/update",
                  {"name": "Item adds", "events": ["/items/add"]})[0] == 200
    w = s.json("GET", f"/webhooks/{wid}")[1]
    assert (w["name"], w["events"]) == ("Item adds", ["/items/add"])
    assert s.post_events([SHARE, OTHER])[1]["matched"] == 1
    got = receiver.wait_for(3)
    assert got[2]["body"] == OTHER.encode()

    # A restart on the same state directory keeps it.
    assert s.stop() == 0
    s2 = serve(RULES, state=s.state)
    assert s2.json("GET", f"/webhooks/{wid}")[1]["name"] == "Item adds"
    assert s2.post_events([OTHER])[1]["matched"] == 1
    got = receiver.wait_for(4)
    assert len(got) == 4 and got[3]["body"] == OTHER.encode()
    m = s2.metrics()
    assert any(k.startswith("weir_target_active{") for k in m)
    assert secret not in s2.request("GET", "/metrics")[1].decode()

    # Deleted: gone, and nothing more is sent.
    assert s2.json("DELETE", f"/webhooks/{wid}")[0] == 200
    assert s2.json("GET", f"/webhooks/{wid}")[0] == 404
    assert s2.post_events([OTHER, SHARE])[1]["matched"] == 0
    assert quiet(receiver, 4)
    assert secret not in s.output() + s2.output()
    assert s2.stop() == 0


def test_kill9_after_202_loses_no_accepted_action(serve, tmp_path):
    receiver = Receiver(status=503)  # down at first: everything stays in the outbox
    try:
        rules = f"""
rules:
  - id: orders
    pattern: {{kind: [order]}}
    actions: [notify]
actions:
  notify:
    webhook:
      url: "{receiver.url}"
      signature: none
      retry: {{attempts: 1000, backoff: 100ms, max_backoff: 300ms}}
"""
        s = serve(rules)
        n = 0
        for batch in range(5):
            events = [{"kind": "order", "n": n + i} for i in range(40)]
            status, ans = s.post_events(events)
            assert (status, ans["accepted"], ans["matched"]) == (202, 40, 40)
            n += 40
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait(10)
        receiver.status = 200
        s2 = serve(rules, state=s.state)
        deadline = time.time() + 60
        seen = set()
        while time.time() < deadline and len(seen) < n:
            seen = {json.loads(r["body"])["n"] for r in receiver.wait_for(n, 1)}
        assert seen == set(range(n)), f"missing {sorted(set(range(n)) - seen)[:10]}"
        # Retries and the restart resend with the same webhook-id.
        ids = {}
        for r in receiver.requests:
            ids.setdefault(json.loads(r["body"])["n"], set()).add(r["headers"]["webhook-id"])
        assert all(len(v) == 1 for v in ids.values())
        assert s2.stop() == 0
    finally:
        receiver.close()
