"""Every table of the platform, imported in one place for Alembic and the test fixtures."""

from concord.audit.models import AuditAnchor, AuditEntry  # noqa: F401
from concord.auth.models import ApiToken, UserSession  # noqa: F401
from concord.catalog.models import Location, Product  # noqa: F401
from concord.db import Base
from concord.documents.models import Document  # noqa: F401
from concord.engagements.models import Engagement, EngagementRead  # noqa: F401
from concord.files import StoredFile  # noqa: F401
from concord.finance.models import (  # noqa: F401
    ExposureLimit,
    FinancingOffer,
    FinancingProgramme,
    Invoice,
    InvoiceLine,
    PaymentTerms,
    Receivable,
    SettlementRecord,
)
from concord.idempotency import IdempotencyRecord  # noqa: F401
from concord.ledger.models import OrganizationKey  # noqa: F401
from concord.notifications.models import Notification, WebhookDelivery, WebhookSubscription  # noqa: F401
from concord.orders.models import ChangeProposal, Dispute, DisputeEvidence, Milestone, OrderRevision, PurchaseOrder, Receipt, Shipment  # noqa: F401
from concord.provenance.models import CaptureJob, EpcisEvent, EventBizTransaction, EventIdentifier, ProvenanceBatch  # noqa: F401
from concord.tenancy.models import Invitation, Organization, Partnership, User  # noqa: F401
from concord.vmi.models import StockRecord, VmiAgreement, VmiAgreementItem, VmiAgreementVersion, VmiProposal, VmiUpload  # noqa: F401

metadata = Base.metadata
