"""The audit log in the portal."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from concord import db
from concord.audit.service import Action, actor_names, page_keys, shown, visible_entries
from concord.auth.web import login_required
from concord.pagination import paginate
from concord.portal import principal

audit_portal = Blueprint("audit_portal", __name__)


@audit_portal.route("/audit")
@login_required
def log():
    action = request.args.get("action") or None
    if action not in {a.value for a in Action}:
        action = None
    me = principal()
    rows, next_cursor = paginate(db.session(), visible_entries(me, action=action), page_keys(me), limit=50, cursor=request.args.get("cursor") or None)
    entries = [shown(row, me) for row in rows]
    names = actor_names(db.session(), rows)
    return render_template(
        "audit.html", entries=entries, operator=me.is_operator, next_cursor=next_cursor, actions=[a.value for a in Action], action=action, names=names
    )
