"""The audit log in the portal."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from concord import db
from concord.audit.models import AuditEntry
from concord.audit.service import Action, actor_names, visible_entries
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
    entries, next_cursor = paginate(
        db.session(), visible_entries(principal(), action=action), [AuditEntry.seq], limit=50, cursor=request.args.get("cursor") or None
    )
    names = actor_names(db.session(), entries)
    return render_template(
        "audit.html", entries=entries, next_cursor=next_cursor, actions=[a.value for a in Action], action=action, names=names
    )
