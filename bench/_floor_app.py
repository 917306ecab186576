"""The app plus one bench-only route, ``POST /bench/floor``: the floor of ticket intake.

It writes what ``POST /api/v1/tickets`` writes for a monitoring alert (the token and requester
lookups, the ticket row, its ``created`` event, a response and a resolution clock, one
commit) with hand-written SQL on the driver connection: no validation, no ORM, no priority
matrix or business-time arithmetic, a fixed P3 policy and a five-field answer. What it costs
next to ``/healthz`` is the best ratio any intake code could reach on this stack (Flask,
gunicorn, the schema's indexes and triggers, one transaction). Served only by
``bench/intake.py --floor``; never part of the product.
"""
from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from servicedesk import create_app  # noqa: E402
from servicedesk.accounts.services import _token_hash  # noqa: E402
from servicedesk.extensions import csrf, db  # noqa: E402

app = create_app()

_TOKEN = ("SELECT t.id, u.id FROM api_tokens t JOIN users u ON u.id = t.user_id "
          "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.is_active_account")
_REQUESTER = "SELECT id FROM users WHERE id = ? AND is_active_account"
_TICKET = ("INSERT INTO tickets (title, description, requester_id, created_by_id, channel, "
           "impact, urgency, priority, status, tier, is_first_contact_resolution, created_at, "
           "updated_at, version) VALUES (?, ?, ?, ?, 'monitoring', ?, ?, 3, 'new', 1, FALSE, "
           "?, ?, 1) RETURNING id")
_EVENT = ("INSERT INTO ticket_events (ticket_id, actor_id, kind, body, is_public, created_at) "
          "VALUES (?, ?, 'created', 'Logged via monitoring at P3', TRUE, ?)")
_CLOCK = ("INSERT INTO sla_clocks (ticket_id, policy_id, calendar_id, kind, state, "
          "target_seconds, started_at, segment_started_at, elapsed_before, due_at, "
          "next_check_at, next_threshold, is_cancelled) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, "
          "0, ?, ?, 50, FALSE)")
_POLICY = ("SELECT p.id, p.calendar_id FROM sla_policies p WHERE p.priority = 3 "
           "ORDER BY p.id LIMIT 1")


#: The P3 policy's (id, calendar id), read once per worker as the real path caches policies.
_policy: list = []


@app.post("/bench/floor")
@csrf.exempt
def floor():
    data = request.get_json()
    secret = request.headers.get("Authorization", "").partition(" ")[2]
    conn = db.session.connection()
    sqlite = conn.dialect.name == "sqlite"
    cur = conn.connection.driver_connection.cursor()

    def run(sql: str, *params):
        cur.execute(sql if sqlite else sql.replace("?", "%s"), params)
        return cur

    now = datetime.now(timezone.utc)
    stamp = (lambda d: d.replace(tzinfo=None).isoformat(sep=" ")) if sqlite else (lambda d: d)
    token = run(_TOKEN, _token_hash(secret)).fetchone()
    if token is None:
        return {"error": "token"}, 401
    if run(_REQUESTER, data["requester_id"]).fetchone() is None:
        return {"error": "requester_id"}, 422
    policy = _policy or _policy.extend(run(_POLICY).fetchone()) or _policy
    ticket_id = run(_TICKET, data["title"], data["description"], data["requester_id"], token[1],
                    data["impact"], data["urgency"], stamp(now), stamp(now)).fetchone()[0]
    run(_EVENT, ticket_id, token[1], stamp(now))
    for kind, seconds in (("response", 4 * 3600), ("resolution", 24 * 3600)):
        due = stamp(now + timedelta(seconds=seconds))
        run(_CLOCK, ticket_id, policy[0], policy[1], kind, seconds, stamp(now), stamp(now),
            due, due)
    db.session.commit()
    return {"id": ticket_id, "number": f"INC-{ticket_id:06d}", "title": data["title"],
            "priority": 3, "status": "new"}, 201
