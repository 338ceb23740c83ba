"""PayPal's activity export, imported through the same framework as Kajabi's.

`raw_paypal_activity` and `validated_paypal_activity` come from the export factory like every
export's (the spec is `domain/paypal.py`): rows that are not sales are counted per kind as
skipped, never quarantined. Then the same steps as the Kajabi chain, with PayPal's
provenance: products by item title (the alias table first), contacts by the payer's email
(only empty fields filled, `paypal_transaction` as the source), the sales and refunds loaded
as `source_system = 'paypal'`. Last, `same_payments` finds the payments Kajabi charged
through PayPal that appear in both exports, so revenue counts each once.
"""

from datetime import timedelta
from decimal import Decimal

import dagster as dg
import polars as pl
import sqlalchemy as sa
from pydantic import Field

from starhouse_pipeline.defs.assets import enrich_contacts, load_transactions
from starhouse_pipeline.defs.checks import no_overwrite_check, warehouse_agreement_checks
from starhouse_pipeline.defs.exports import (
    WAREHOUSE_POOL,
    export_assets,
    masked_preview,
    row_accounting_check,
)
from starhouse_pipeline.defs.report import ReportSource, import_report_asset
from starhouse_pipeline.defs.resources import ImportOptions, WarehouseResource
from starhouse_pipeline.domain import cross_source
from starhouse_pipeline.domain.contacts import ContactOutcome
from starhouse_pipeline.domain.formatting import markdown_table, money_by_currency
from starhouse_pipeline.domain.paypal import ENRICHMENT_SOURCE, PAYPAL_ACTIVITY, SOURCE_SYSTEM
from starhouse_pipeline.domain.paypal_products import item_titles, resolve_item_titles
from starhouse_pipeline.domain.report import TITLE_LABELS
from starhouse_pipeline.domain.transactions import LoadOutcome
from starhouse_pipeline.domain.validation import ValidatedExport
from starhouse_pipeline.warehouse import analytics as warehouse_analytics
from starhouse_pipeline.warehouse import paypal as warehouse_paypal
from starhouse_pipeline.warehouse import products, transactions

PAYPAL_GROUP = "paypal_activity"
_PREVIEW = {
    "line": "_line",
    "id": "external_transaction_id",
    "type": "transaction_type",
    "status": "status",
    "amount": "amount",
    "fee": "fee",
    "currency": "currency",
    "email": "email",
    "item": "offer_title",
}


def _preview(valid: pl.DataFrame) -> pl.DataFrame:
    return masked_preview(valid, _PREVIEW)


def _refused_by_crm(connection: sa.Connection, valid: pl.DataFrame) -> pl.DataFrame:
    return transactions.refused_by_crm(connection, valid, SOURCE_SYSTEM)


PAYPAL_EXPORT = export_assets(
    PAYPAL_ACTIVITY,
    raw_name="raw_paypal_activity",
    validated_name="validated_paypal_activity",
    group=PAYPAL_GROUP,
    refusals=_refused_by_crm,
    resolves_earlier_quarantine=True,
    preview=_preview,
)
raw_paypal_activity = PAYPAL_EXPORT.raw
validated_paypal_activity = PAYPAL_EXPORT.validated
paypal_quarantine_gate = PAYPAL_EXPORT.quarantine_gate


@dg.asset(group_name=PAYPAL_GROUP, kinds={"polars", "sql"}, pool=WAREHOUSE_POOL)
def paypal_products(
    validated_paypal_activity: ValidatedExport, warehouse: WarehouseResource
) -> dg.Output[pl.DataFrame]:
    """Each PayPal item title resolved to a CRM product: the `product_aliases` table first
    (title → product, kept by the operator), then the one product of the same normalized
    name. Nothing is created: a title neither finds is reported with its transaction count,
    to be aliased; its transactions load without a product."""
    titles = item_titles(validated_paypal_activity.valid)
    with warehouse.transaction(dry_run=True) as connection:
        known = products.read_products(connection)
        aliases = warehouse_paypal.read_product_aliases(connection)
    resolved, unmapped = resolve_item_titles(titles, known, aliases)
    by = resolved.get_column("matched_by")
    return dg.Output(
        pl.concat([resolved, unmapped.select("offer_title")], how="diagonal_relaxed").select(
            "offer_title", "product_id", "matched_by"
        ),
        metadata={
            "titles": titles.height,
            "matched_by_alias": int((by == "alias").sum()),
            "matched_by_name": int((by == "name").sum()),
            "unmapped_titles": unmapped.height,
            "unmapped_transactions": int(unmapped.get_column("transactions").sum()),
            "unmapped": dg.MetadataValue.md(markdown_table(unmapped.head(20))),
        },
    )


@dg.asset(
    group_name=PAYPAL_GROUP, kinds={"polars", "sql"}, pool=WAREHOUSE_POOL, deps=[paypal_products]
)
def paypal_contacts(
    context: dg.AssetExecutionContext,
    validated_paypal_activity: ValidatedExport,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
) -> dg.Output[ContactOutcome]:
    """PayPal's customers (the payer of a payment, the payee of a refund) matched to CRM
    contacts by normalized email, as Kajabi's are: only empty phone and address fields are
    filled (`paypal_transaction` as their source, each fill logged), customers without a
    contact become contacts from `paypal`, and no existing value is ever overwritten."""
    return enrich_contacts(
        context,
        validated_paypal_activity,
        warehouse,
        import_options,
        source=ENRICHMENT_SOURCE,
        source_system=SOURCE_SYSTEM,
    )


@dg.asset(group_name=PAYPAL_GROUP, kinds={"polars", "sql"}, pool=WAREHOUSE_POOL)
def loaded_paypal_transactions(
    context: dg.AssetExecutionContext,
    validated_paypal_activity: ValidatedExport,
    paypal_products: pl.DataFrame,
    paypal_contacts: ContactOutcome,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
) -> dg.Output[LoadOutcome]:
    """PayPal's sales and refunds in the CRM's `transactions`, keyed on (`paypal`,
    Transaction ID): Gross as the amount, the UTC time from Date, Time and TimeZone, each
    linked to its contact and (where the title resolves) product, `raw_source` holding the
    original row (Fee and Net included). Re-importing the same export changes nothing."""
    return load_transactions(
        context,
        validated_paypal_activity,
        paypal_products,
        paypal_contacts.contact_ids,
        warehouse,
        import_options,
        source_system=SOURCE_SYSTEM,
        product_key="offer_title",
    )


paypal_rows_accounted_for = row_accounting_check(loaded_paypal_transactions)
paypal_warehouse_agrees_with_export = warehouse_agreement_checks(
    "loaded_paypal_transactions", "paypal_warehouse_agrees_with_export"
)
paypal_enrichment_never_overwrote = no_overwrite_check(paypal_contacts)


class SamePaymentsConfig(dg.Config):
    """How far apart the two records of one payment may be."""

    window_minutes: int = Field(
        default=int(cross_source.DEFAULT_WINDOW / timedelta(minutes=1)),
        ge=0,
        le=24 * 60,
        description="Largest time between a Kajabi charge through PayPal and PayPal's row of "
        "the same payment",
    )


@dg.asset(
    group_name=PAYPAL_GROUP,
    kinds={"polars", "sql"},
    pool=WAREHOUSE_POOL,
    deps=[loaded_paypal_transactions],
)
def same_payments(
    context: dg.AssetExecutionContext,
    config: SamePaymentsConfig,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
) -> dg.MaterializeResult:
    """Payments that sit in both sources: a Kajabi sale charged through PayPal and a PayPal
    payment from the same contact, of the same amount and currency, within the window.

    Each pair is recorded in `same_payments` with its evidence (both ids, seconds apart,
    amount) and the PayPal row is counted out of revenue and every metric, so the payment
    counts once. A row with two candidates is recorded as ambiguous and never merged.
    Recomputed whole from the warehouse after each PayPal import.
    """
    window = timedelta(minutes=config.window_minutes)
    with warehouse.transaction(dry_run=import_options.dry_run) as connection:
        kajabi, paypal = warehouse_paypal.read_candidates(connection)
        found = cross_source.same_payments(kajabi, paypal, window)
        warehouse_paypal.replace_same_payments(connection, found, context.run_id)
    pairs = found.pairs
    return dg.MaterializeResult(
        metadata={
            "pairs": pairs.height,
            "ambiguous_rows": found.ambiguous.height,
            "counted_once": money_by_currency(_amount_by_currency(pairs)),
            "window_minutes": config.window_minutes,
            "pairs_sample": dg.MetadataValue.md(
                markdown_table(
                    pairs.head(10).select(
                        "kajabi_external_id", "paypal_external_id", "seconds_apart", "amount"
                    )
                )
            ),
            "dry_run": import_options.dry_run,
        }
    )


def _amount_by_currency(pairs: pl.DataFrame) -> dict[str, Decimal]:
    if pairs.is_empty():
        return {}
    return dict(pairs.group_by("currency").agg(pl.col("amount").sum()).iter_rows())


@dg.asset_check(asset=same_payments, blocking=True)
def revenue_counts_each_payment_once(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Revenue by month never counts a recorded pair twice: of each pair, only the Kajabi
    row passes the predicate every metric reads transactions through (`counted_once`).

    Asked of the pairs only (a few rows), so it costs the same at a million transactions."""
    with warehouse.transaction(dry_run=True) as connection:
        pairs = warehouse_paypal.read_pairs(connection).height
        twice = warehouse_analytics.pairs_counted_twice(connection)
    return dg.AssetCheckResult(
        passed=twice == 0, metadata={"pairs": pairs, "pairs_counted_twice": twice}
    )


def _same_payments_note(connection: sa.Connection) -> list[str]:
    pairs = warehouse_paypal.read_pairs(connection).height
    return [
        f"{pairs} of the warehouse's PayPal payments are also in the Kajabi export: each "
        "counts once (table starhouse.same_payments; asset same_payments)"
    ]


paypal_import_report = import_report_asset(
    "paypal_import_report",
    PAYPAL_GROUP,
    ReportSource(
        title="PayPal import report",
        source_name="PayPal",
        product_key="offer_title",
        validated="validated_paypal_activity",
        products="paypal_products",
        contacts="paypal_contacts",
        load="loaded_paypal_transactions",
        product_labels=TITLE_LABELS,
        notes=_same_payments_note,
    ),
    deps=[same_payments],
)


# One process, like every import job: its steps are short and touch one database.
paypal_import_job = dg.define_asset_job(
    "paypal_import_job",
    selection=dg.AssetSelection.groups(PAYPAL_GROUP),
    description="Import one PayPal activity export into contacts and transactions, with its "
    "checks, and find the payments that are also in the Kajabi export.",
    executor_def=dg.in_process_executor,
)
