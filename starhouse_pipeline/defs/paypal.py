"""PayPal's activity export through the same framework as Kajabi's: read and validated.

`raw_paypal_activity` and `validated_paypal_activity` come from the export factory like every
export's, with the same quarantine gate: the one reader and validator take PayPal's
tab-separated, 42-column file through its spec (`domain/paypal.py`). Rows that are not sales
(card spending, authorizations and holds, transfers, ...) are counted per kind as skipped,
never quarantined. Loading the sales into `transactions` (contacts, products by title and
alias, the same payment in both sources counted once) is the next step of issue 15.
"""

import dagster as dg

from starhouse_pipeline.defs.exports import export_assets, masked_preview
from starhouse_pipeline.domain.paypal import PAYPAL_ACTIVITY

PAYPAL_GROUP = "paypal_activity"

PAYPAL_EXPORT = export_assets(
    PAYPAL_ACTIVITY,
    raw_name="raw_paypal_activity",
    validated_name="validated_paypal_activity",
    group=PAYPAL_GROUP,
    preview=lambda valid: masked_preview(
        valid,
        {
            "line": "_line",
            "id": "external_transaction_id",
            "type": "transaction_type",
            "status": "status",
            "amount": "amount",
            "fee": "fee",
            "currency": "currency",
            "email": "email",
            "item": "offer_title",
        },
    ),
)
raw_paypal_activity = PAYPAL_EXPORT.raw
validated_paypal_activity = PAYPAL_EXPORT.validated
paypal_quarantine_gate = PAYPAL_EXPORT.quarantine_gate

paypal_validation_job = dg.define_asset_job(
    "paypal_validation_job",
    selection=dg.AssetSelection.assets(*PAYPAL_EXPORT.assets),
    description="Read and validate one PayPal activity export: what it holds, what is "
    "skipped (not a sale) and what is quarantined. Nothing is loaded into transactions yet.",
    executor_def=dg.in_process_executor,
)
