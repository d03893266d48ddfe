"""Registration, organizations, the member directory, users, invitations, partnerships."""

from __future__ import annotations

import uuid

from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, links, policy
from concord.api_common import PageArgsSchema, page_of, page_response, public
from concord.auth.web import current_principal
from concord.tenancy import schemas, service
from concord.tenancy import users as members
from concord.tenancy.models import Invitation, Organization, Partnership, User

registrations = Blueprint("registrations", __name__, url_prefix="/api/v1/registrations", description="Apply to join the consortium.")
organizations = Blueprint("organizations", __name__, url_prefix="/api/v1/organizations", description="Members of the consortium and their onboarding.")
directory = Blueprint("directory", __name__, url_prefix="/api/v1/directory", description="Active members, to find partners.")
users = Blueprint("users", __name__, url_prefix="/api/v1/users", description="The users of your organization.")
invitations = Blueprint("invitations", __name__, url_prefix="/api/v1/invitations", description="Invite people to your organization.")
partnerships = Blueprint(
    "partnerships", __name__, url_prefix="/api/v1/partnerships", description="Relations between organizations; documents are shared only between partners."
)

BLUEPRINTS = [registrations, organizations, directory, users, invitations, partnerships]


@registrations.route("")
@public
class Registrations(MethodView):
    @registrations.arguments(schemas.RegistrationInputSchema)
    @registrations.response(201, schemas.RegistrationSchema)
    def post(self, data):
        """Register an organization and its first admin; it stays pending until the operator approves it."""
        org, admin = service.register_organization(db.session(), organization=data["organization"], admin=data["admin"])
        return {"organization": org, "admin_user_id": admin.id}


# --- organizations ---------------------------------------------------------------


@organizations.route("")
class Organizations(MethodView):
    @organizations.arguments(schemas.OrganizationFilterSchema, location="query")
    @organizations.response(200, page_of(schemas.OrganizationSchema))
    def get(self, args):
        """Your own organization; the operator sees every organization (filter by status)."""
        query = service.list_organizations(db.session(), current_principal(), status=args["status"])
        return page_response(query, [Organization.created_at, Organization.id], args)


@organizations.route("/<uuid:org_id>")
class OrganizationItem(MethodView):
    @organizations.response(200, schemas.OrganizationSchema)
    def get(self, org_id: uuid.UUID):
        return policy.get_visible(db.session(), Organization, org_id, current_principal())

    @organizations.arguments(schemas.OrganizationUpdateSchema)
    @organizations.response(200, schemas.OrganizationSchema)
    def patch(self, changes, org_id: uuid.UUID):
        """Edit your organization's profile (admins). A new legal name goes to the operator for review."""
        return service.update_organization(db.session(), current_principal(), org_id, changes)


def _org_transition(action: str, summary: str):
    class OrganizationTransition(MethodView):
        @organizations.arguments(schemas.StatusChangeSchema)
        @organizations.response(200, schemas.OrganizationSchema)
        def post(self, data, org_id: uuid.UUID):
            return service.transition_organization(db.session(), current_principal(), org_id, action, reason=data["reason"])

    OrganizationTransition.post.__doc__ = summary
    OrganizationTransition.__name__ = f"Organization{action.title()}"
    organizations.route(f"/<uuid:org_id>/{action}", endpoint=f"organization_{action}")(OrganizationTransition)


def _legal_name_review(decision: str, summary: str):
    class LegalNameReview(MethodView):
        @organizations.arguments(schemas.StatusChangeSchema)
        @organizations.response(200, schemas.OrganizationSchema)
        def post(self, data, org_id: uuid.UUID):
            return service.review_legal_name(db.session(), current_principal(), org_id, decision, reason=data["reason"])

    LegalNameReview.post.__doc__ = summary
    LegalNameReview.__name__ = f"LegalName{decision.title()}"
    organizations.route(f"/<uuid:org_id>/legal-name/{decision}", endpoint=f"legal_name_{decision}")(LegalNameReview)


_legal_name_review("approve", "Give an organization the legal name it asked for (operator).")
_legal_name_review("reject", "Refuse an organization's new legal name; it keeps its current one (operator).")


_org_transition("approve", "Admit a pending organization to the consortium (operator).")
_org_transition("reject", "Refuse a pending registration (operator).")
_org_transition("suspend", "Suspend a member: its users can do nothing until reactivated (operator).")
_org_transition("reactivate", "Lift a suspension (operator).")


@directory.route("")
class Directory(MethodView):
    @directory.arguments(schemas.DirectoryFilterSchema, location="query")
    @directory.response(200, page_of(schemas.DirectoryEntrySchema))
    def get(self, args):
        """Active consortium members (filter by capability), to choose partners."""
        current_principal()
        return page_response(service.directory_query(capability=args["capability"]), [Organization.created_at, Organization.id], args)


# --- users and invitations -----------------------------------------------------


@users.route("")
class Users(MethodView):
    @users.arguments(PageArgsSchema, location="query")
    @users.response(200, page_of(schemas.UserSchema))
    def get(self, args):
        return page_response(members.users_query(current_principal()), [User.created_at, User.id], args)


@users.route("/<uuid:user_id>")
class UserItem(MethodView):
    @users.response(200, schemas.UserSchema)
    def get(self, user_id: uuid.UUID):
        return policy.get_visible(db.session(), User, user_id, current_principal())

    @users.arguments(schemas.UserUpdateSchema)
    @users.response(200, schemas.UserSchema)
    def patch(self, data, user_id: uuid.UUID):
        """Change a user's role (admins)."""
        return members.change_role(db.session(), current_principal(), user_id, data["role"])


@users.route("/<uuid:user_id>/disable")
class UserDisable(MethodView):
    @users.response(200, schemas.UserSchema)
    def post(self, user_id: uuid.UUID):
        """Disable a user: their sessions end and their tokens stop working (admins)."""
        return members.set_user_status(db.session(), current_principal(), user_id, "disable")


@users.route("/<uuid:user_id>/enable")
class UserEnable(MethodView):
    @users.response(200, schemas.UserSchema)
    def post(self, user_id: uuid.UUID):
        return members.set_user_status(db.session(), current_principal(), user_id, "enable")


def invitation_view(invitation: Invitation, raw_token: str | None = None) -> dict:
    view = {
        "id": invitation.id,
        "organization_id": invitation.organization_id,
        "email": invitation.email,
        "role": invitation.role,
        "state": invitation.state,
        "expires_at": invitation.expires_at,
        "created_at": invitation.created_at,
    }
    if raw_token:
        view["token"] = raw_token
        view["accept_url"] = links.public_url("auth_portal.accept_invitation", token=raw_token)
    return view


@invitations.route("")
class Invitations(MethodView):
    @invitations.arguments(PageArgsSchema, location="query")
    @invitations.response(200, page_of(schemas.InvitationSchema))
    def get(self, args):
        query = members.invitations_query(current_principal())
        return page_response(query, [Invitation.created_at, Invitation.id], args, transform=invitation_view)

    @invitations.arguments(schemas.InvitationInputSchema)
    @invitations.response(201, schemas.InvitationSchema)
    def post(self, data):
        """Invite a person by email (admins). The response carries the one-time link to send them."""
        links.public_base()  # refuse before writing when no link can be made
        invitation, raw = members.invite_user(db.session(), current_principal(), email=data["email"], role=data["role"])
        return invitation_view(invitation, raw)


@invitations.route("/<uuid:invitation_id>")
class InvitationItem(MethodView):
    @invitations.response(200, schemas.InvitationSchema)
    def get(self, invitation_id: uuid.UUID):
        return invitation_view(policy.get_visible(db.session(), Invitation, invitation_id, current_principal()))


@invitations.route("/<uuid:invitation_id>/revoke")
class InvitationRevoke(MethodView):
    @invitations.response(200, schemas.InvitationSchema)
    def post(self, invitation_id: uuid.UUID):
        return invitation_view(members.revoke_invitation(db.session(), current_principal(), invitation_id))


@invitations.route("/accept")
@public
class InvitationAccept(MethodView):
    @invitations.arguments(schemas.InvitationAcceptSchema)
    @invitations.response(201, schemas.UserSchema)
    def post(self, data):
        """Accept an invitation with its token: creates the user account."""
        return members.accept_invitation(db.session(), token=data["token"], full_name=data["full_name"], password=data["password"])


# --- partnerships ------------------------------------------------------------------


def partnership_view(partnership: Partnership) -> dict:
    principal = current_principal()
    return {
        **{
            key: getattr(partnership, key)
            for key in ("id", "relation", "status", "org_a", "org_b", "requested_by_org_id", "arbiter", "message", "created_at", "responded_at")
        },
        "allowed_actions": service.allowed_partnership_actions(partnership, principal.org.id) if principal.user.role == "admin" else [],
    }


@partnerships.route("")
class Partnerships(MethodView):
    @partnerships.arguments(schemas.PartnershipFilterSchema, location="query")
    @partnerships.response(200, page_of(schemas.PartnershipSchema))
    def get(self, args):
        query = service.partnerships_query(current_principal(), status=args["status"], relation=args["relation"])
        return page_response(query, [Partnership.created_at, Partnership.id], args, transform=partnership_view)

    @partnerships.arguments(schemas.PartnershipInputSchema)
    @partnerships.response(201, schemas.PartnershipSchema)
    def post(self, data):
        """Ask another active member for a partnership (admins); it becomes active when they accept."""
        partnership = service.request_partnership(
            db.session(),
            current_principal(),
            relation=data["relation"],
            counterparty_id=data["counterparty_id"],
            my_side=data["my_side"],
            message=data["message"],
            arbiter_id=data["arbiter_id"],
        )
        return partnership_view(partnership)


@partnerships.route("/<uuid:partnership_id>")
class PartnershipItem(MethodView):
    @partnerships.response(200, schemas.PartnershipSchema)
    def get(self, partnership_id: uuid.UUID):
        return partnership_view(policy.get_visible(db.session(), Partnership, partnership_id, current_principal()))


def _partnership_transition(action: str, summary: str):
    class PartnershipTransition(MethodView):
        @partnerships.response(200, schemas.PartnershipSchema)
        def post(self, partnership_id: uuid.UUID):
            return partnership_view(service.transition_partnership(db.session(), current_principal(), partnership_id, action))

    PartnershipTransition.post.__doc__ = summary
    PartnershipTransition.__name__ = f"Partnership{action.title()}"
    partnerships.route(f"/<uuid:partnership_id>/{action}", endpoint=f"partnership_{action}")(PartnershipTransition)


_partnership_transition("accept", "Accept a partnership another organization asked for (admins).")
_partnership_transition("decline", "Decline a partnership request (admins).")
_partnership_transition("withdraw", "Withdraw your own pending request (admins).")
_partnership_transition("end", "End an active partnership (admins of either side).")
