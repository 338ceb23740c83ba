"""Kajabi's vocabulary mapped to the CRM's. Anything not listed is quarantined, never guessed."""

TRANSACTION_TYPES: dict[str, str] = {
    "subscription": "subscription",
    "charge": "purchase",
    "payment plan": "purchase",
    "refund": "refund",
}

STATUSES: dict[str, str] = {
    "succeeded": "completed",
    "failed": "failed",
    "pending": "pending",
}

CRM_TRANSACTION_TYPES = ("purchase", "subscription", "refund", "adjustment")
CRM_STATUSES = ("completed", "failed", "pending")

# Revenue is money actually received: completed rows only, refunds counting negative.
REVENUE_STATUS = "completed"
