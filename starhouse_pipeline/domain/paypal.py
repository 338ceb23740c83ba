"""The PayPal activity export: its columns, what counts as what, its typing, rules and spec.

PayPal → Activity → Download writes one row per balance event; most are not sales (card
spending, authorizations and holds, cash back, transfers). `PAYPAL_TYPES` says, per Type,
which rows are sales and which CRM type they become; every other row of a known Type gets a
`skip_label` and is counted, never quarantined. Rules other than the structure rules only
judge rows that are not skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from starhouse_pipeline.domain import patterns
from starhouse_pipeline.domain.export_spec import ExportSpec
from starhouse_pipeline.domain.fields import MONEY, UTC_TIMESTAMP, Rule, structure_rules, text
from starhouse_pipeline.domain.mapping import CRM_STATUSES
from starhouse_pipeline.domain.masking import quoted_if_shaped
from starhouse_pipeline.domain.signed_amounts import SignedAmounts

SOURCE_SYSTEM = "paypal"
# The provenance of a contact's phone or address filled from a PayPal row.
ENRICHMENT_SOURCE = "paypal_transaction"

# Column order of Activity → Download ("All transactions", tab-delimited).
PAYPAL_COLUMNS: tuple[str, ...] = (
    "Date",
    "Time",
    "TimeZone",
    "Name",
    "Type",
    "Status",
    "Currency",
    "Gross",
    "Fee",
    "Net",
    "From Email Address",
    "To Email Address",
    "Transaction ID",
    "Shipping Address",
    "Address Status",
    "Item Title",
    "Item ID",
    "Shipping and Handling Amount",
    "Insurance Amount",
    "Sales Tax",
    "Option 1 Name",
    "Option 1 Value",
    "Option 2 Name",
    "Option 2 Value",
    "Reference Txn ID",
    "Invoice Number",
    "Custom Number",
    "Quantity",
    "Receipt ID",
    "Balance",
    "Address Line 1",
    "Address Line 2/District/Neighborhood",
    "Town/City",
    "State/Province/Region/County/Territory/Prefecture/Republic",
    "Zip/Postal Code",
    "Country",
    "Contact Phone Number",
    "Subject",
    "Note",
    "Country Code",
    "Balance Impact",
    "Seller ID",
)

# What the rules read: which row is a sale (Type, Balance Impact), its id, money, time and
# customer. Fee and Net are typed when present; the address block is optional.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "Date",
    "Time",
    "TimeZone",
    "Type",
    "Status",
    "Currency",
    "Gross",
    "Transaction ID",
    "Balance Impact",
    "From Email Address",
    "To Email Address",
)

CREDIT, DEBIT, MEMO = "Credit", "Debit", "Memo"
BALANCE_IMPACTS = (CREDIT, DEBIT, MEMO)


@dataclass(frozen=True)
class Sale:
    """A Type that is a sale when its Balance Impact is `balance_impact`."""

    transaction_type: str  # the CRM's transaction_type
    balance_impact: str


NOT_A_SALE = None

# What counts as what, by Type (compared case-insensitively). A sale Type with the other
# Balance Impact is the operator's own payment ("outgoing Express Checkout Payment") or a
# refund the operator received ("incoming Payment Refund"): skipped too. A Type not listed
# here, `Other` included (PayPal uses it for rows of several kinds), is quarantined.
PAYPAL_TYPES: dict[str, Sale | None] = {
    "Subscription Payment": Sale("subscription", CREDIT),
    "Express Checkout Payment": Sale("purchase", CREDIT),
    "Website Payment": Sale("purchase", CREDIT),
    "Mobile Payment": Sale("purchase", CREDIT),
    "Direct Credit Card Payment": Sale("purchase", CREDIT),
    "Donation Payment": Sale("purchase", CREDIT),
    "General Payment": Sale("purchase", CREDIT),
    "PreApproved Payment Bill User Payment": Sale("purchase", CREDIT),
    "Payment Refund": Sale("refund", DEBIT),
    # Spending with the PayPal debit card and its cash back.
    "General PayPal Debit Card Transaction": NOT_A_SALE,
    "Debit Card Cash Back Bonus": NOT_A_SALE,
    # Authorizations and holds: money reserved and released, never received.
    "General Authorization": NOT_A_SALE,
    "Account Hold for Open Authorization": NOT_A_SALE,
    "Reversal of General Account Hold": NOT_A_SALE,
    "Void of Authorization": NOT_A_SALE,
    "Hold on Balance for Dispute Investigation": NOT_A_SALE,
    "Cancellation of Hold for Dispute Resolution": NOT_A_SALE,
    # A chargeback's sale shows Status Reversed (failed, never revenue): its debit is not
    # a second loss.
    "Chargeback": NOT_A_SALE,
    "Chargeback Reversal": NOT_A_SALE,
    "Chargeback Fee": NOT_A_SALE,
    # Moving the operator's own money.
    "General Currency Conversion": NOT_A_SALE,
    "General Withdrawal": NOT_A_SALE,
    "User Initiated Withdrawal": NOT_A_SALE,
    "Bank Deposit to PP Account": NOT_A_SALE,
    "General Credit Card Deposit": NOT_A_SALE,
    "General Credit Card Withdrawal": NOT_A_SALE,
}

# PayPal's Status mapped to the CRM's. Denied and Reversed: the money never arrived or went
# back (a chargeback), so failed, never revenue. Refunded and Partially Refunded: the sale
# did happen; its refund is its own negative Payment Refund row. Canceled: a pending
# payment (an eCheck) withdrawn before it cleared, so failed. Anything else is quarantined.
PAYPAL_STATUSES: dict[str, str] = {
    "Completed": "completed",
    "Pending": "pending",
    "Denied": "failed",
    "Reversed": "failed",
    "Canceled": "failed",
    "Refunded": "completed",
    "Partially Refunded": "completed",
}
PAYPAL_TRANSACTION_TYPES = ("purchase", "subscription", "refund")

# UTC offsets in minutes of the abbreviations PayPal writes in TimeZone (the account's
# zone). North American meanings: StarHouse's account is a US one, where CST is Central,
# not China, time. Ambiguous abbreviations (IST, BST, AST) are left out: quarantined.
TIME_ZONE_OFFSETS: dict[str, int] = {
    "UTC": 0,
    "GMT": 0,
    "EST": -5 * 60,
    "EDT": -4 * 60,
    "CST": -6 * 60,
    "CDT": -5 * 60,
    "MST": -7 * 60,
    "MDT": -6 * 60,
    "PST": -8 * 60,
    "PDT": -7 * 60,
    "AKST": -9 * 60,
    "AKDT": -8 * 60,
    "HST": -10 * 60,
}

# Amounts as PayPal writes them: `22`, `-0.93`, `17,463.22` (thousands in groups of three).
_AMOUNT_PATTERN = r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$"
_MAX_ABS_AMOUNT = 10**10  # NUMERIC(12,2)
# PayPal transaction ids: 17 upper-case letters and digits (`8MC585209K746392H`).
_TRANSACTION_ID = r"^[0-9A-Z]{17}$"
_DATE_FORMAT = "%m/%d/%Y %H:%M:%S"
# Shapes a value must have for a reason to quote it (see masking.quoted_if_shaped).
_ID_SHAPE = r"[A-Za-z0-9_-]{1,24}"
_AMOUNT_SHAPE = r"[0-9$€£(),.+ -]{1,20}"
_CURRENCY_SHAPE = r"[A-Za-z$€£]{1,5}"
# Types and statuses are Title Case words, as names are: only values ending the way PayPal's
# do ("... Payment", "Cleared") are quoted, so a misplaced name is not.
_TYPE_SHAPE = (
    r"(?:[A-Za-z]+ ){0,6}(?:Payment|Transaction|Refund|Hold|Authorization|Withdrawal|Deposit"
    r"|Conversion|Bonus|Fee|Reversal|Resolution|Investigation|Chargeback|Transfer|Other)"
)
_STATUS_SHAPE = r"(?:[A-Za-z]+ )?[A-Za-z]+(?:ed|ing)"
_TIME_ZONE_SHAPE = r"[A-Za-z]{1,5}|[A-Za-z]{3}[+-]\d{1,2}(?::?\d{2})?"
_DATE_SHAPE = r"[0-9 :/.-]{1,25}"

_TEXT_FIELDS = {
    "customer_name": "Name",
    "phone": "Contact Phone Number",
    "address_line_1": "Address Line 1",
    "address_line_2": "Address Line 2/District/Neighborhood",
    "city": "Town/City",
    "state": "State/Province/Region/County/Territory/Prefecture/Republic",
    "postal_code": "Zip/Postal Code",
    "offer_title": "Item Title",
    "item_id": "Item ID",
    "reference_txn_id": "Reference Txn ID",
}

_SALES = {name.casefold(): sale for name, sale in PAYPAL_TYPES.items() if sale is not None}
_TYPE_NAMES = {name.casefold(): name for name in PAYPAL_TYPES}
_IMPACT_NAMES = {impact.casefold(): impact for impact in BALANCE_IMPACTS}
_STATUS_NAMES = {status.casefold(): crm for status, crm in PAYPAL_STATUSES.items()}


def _type_name() -> pl.Expr:
    """The Type as `PAYPAL_TYPES` spells it; null for a Type it does not list."""
    return text("Type").str.to_lowercase().replace_strict(_TYPE_NAMES, default=None)


def _balance_impact() -> pl.Expr:
    """Credit, Debit or Memo; null for anything else."""
    return text("Balance Impact").str.to_lowercase().replace_strict(_IMPACT_NAMES, default=None)


def _sale_impact() -> pl.Expr:
    """The Balance Impact that makes this Type a sale; null for other Types."""
    impacts = {name: sale.balance_impact for name, sale in _SALES.items()}
    return text("Type").str.to_lowercase().replace_strict(impacts, default=None)


def _is_sale() -> pl.Expr:
    """A Type that is a sale, with the Balance Impact that makes it one."""
    return _sale_impact().is_not_null() & (_balance_impact() == _sale_impact()).fill_null(False)


def skip_label() -> pl.Expr:
    """Why a row of a known Type is not imported (counted under this label); null otherwise.

    Null, too, for an unknown Type or a sale Type with an unknown Balance Impact: those are
    not skipped but quarantined by the rules.
    """
    name, impact, sale_impact = _type_name(), _balance_impact(), _sale_impact()
    return (
        pl.when(name.is_null() | _is_sale())
        .then(None)
        .when(sale_impact.is_null())
        .then(name)
        .when(impact == MEMO)
        .then(pl.format("{} (memo)", name))
        .when(impact == DEBIT)
        .then(pl.format("outgoing {}", name))
        .when(impact == CREDIT)
        .then(pl.format("incoming {}", name))
        .otherwise(None)
    )


def _money(column: str) -> pl.Expr:
    """An exact Decimal(12,2) from PayPal's amount text; null when empty or not exact."""
    value = text(column)
    magnitude = value.str.replace_all(r"[-,]", "").str.to_decimal(scale=2).cast(MONEY, strict=False)
    exact = pl.when(value.str.contains(_AMOUNT_PATTERN)).then(magnitude)
    return pl.when(value.str.starts_with("-")).then(-exact).otherwise(exact)


def _utc_offset_minutes() -> pl.Expr:
    return text("TimeZone").replace_strict(TIME_ZONE_OFFSETS, default=None, return_dtype=pl.Int64)


def _local_time() -> pl.Expr:
    """Date and Time as the wall clock of the account's time zone (no zone yet)."""
    stamp = pl.concat_str([text("Date"), text("Time")], separator=" ")
    return stamp.str.to_datetime(_DATE_FORMAT, strict=False, time_unit="us")


def _transaction_date() -> pl.Expr:
    """UTC: the wall clock minus the offset TimeZone names; null when either is unknown."""
    local = _local_time().dt.replace_time_zone("UTC")
    return (local - pl.duration(minutes=_utc_offset_minutes())).cast(UTC_TIMESTAMP)


def _customer_email() -> pl.Expr:
    """The other party: the payer of money in (From), the payee of money out (To)."""
    counterpart = (
        pl.when(_balance_impact() == DEBIT)
        .then(text("To Email Address"))
        .otherwise(text("From Email Address"))
    )
    return counterpart.str.to_lowercase()


def typed_columns() -> list[pl.Expr]:
    """Expressions producing the typed columns from the export's text columns."""
    name = _type_name()
    sale_type = (
        text("Type")
        .str.to_lowercase()
        .replace_strict({key: sale.transaction_type for key, sale in _SALES.items()}, default=None)
    )
    return [
        text("Transaction ID").alias("external_transaction_id"),
        _money("Gross").alias("amount"),
        _money("Fee").alias("fee"),
        _money("Net").alias("net"),
        text("Currency").str.to_uppercase().alias("currency"),
        text("Type").alias("paypal_type"),
        pl.when(_is_sale()).then(sale_type).alias("transaction_type"),
        text("Status").alias("paypal_status"),
        text("Status")
        .str.to_lowercase()
        .replace_strict(_STATUS_NAMES, default=None)
        .alias("status"),
        _transaction_date().alias("transaction_date"),
        _customer_email().alias("email"),
        *(text(source).alias(column) for column, source in _TEXT_FIELDS.items()),
        # Kajabi's Country holds the code; PayPal's Country Code does, its Country a name.
        pl.coalesce(text("Country Code"), text("Country")).alias("country"),
        pl.lit(None, dtype=pl.String).alias("offer_id"),
        # What the transactions table keeps of any source: the order, the method, the processor.
        text("Invoice Number").alias("order_no"),
        pl.lit(SOURCE_SYSTEM).alias("payment_method"),
        pl.lit(SOURCE_SYSTEM).alias("provider"),
        _balance_impact().alias("balance_impact"),
        (name == "Donation Payment").fill_null(False).alias("is_donation"),
    ]


def _judged(condition: pl.Expr) -> pl.Expr:
    """A rule's failure on a row that is imported: skipped rows are counted, not judged."""
    return skip_label().is_null() & condition


def _rule(name: str, condition: pl.Expr, reason: pl.Expr) -> Rule:
    # The cheap condition screens; only screened rows pay for the skip label and reason.
    return Rule(name, _judged(condition), reason, screen=condition)


def row_rules() -> list[Rule]:
    """Every row-level rule, in the order their reasons are reported."""
    col = pl.col
    return [
        *structure_rules(),
        _rule(
            "id_present",
            col("external_transaction_id").is_null(),
            pl.lit("Transaction ID is empty"),
        ),
        _rule(
            "id_shape",
            ~col("external_transaction_id").str.contains(_TRANSACTION_ID),
            pl.format(
                "Transaction ID {} is not a PayPal transaction id",
                quoted_if_shaped(col("external_transaction_id"), _ID_SHAPE, max_digits=17),
            ),
        ),
        _rule(
            "amount_parses", _not_exact("Gross", "amount", optional=False), _amount_reason("Gross")
        ),
        _rule(
            "fee_net_parse",
            _not_exact("Fee", "fee") | _not_exact("Net", "net"),
            pl.concat_str(
                [
                    pl.when(_not_exact("Fee", "fee")).then(_amount_reason("Fee")),
                    pl.when(_not_exact("Net", "net")).then(_amount_reason("Net")),
                ],
                separator="; ",
                ignore_nulls=True,
            ),
        ),
        _rule(
            "currency_code",
            ~col("currency").str.contains(patterns.CURRENCY).fill_null(False),
            pl.format(
                "Currency {} is not an ISO code",
                quoted_if_shaped(text("Currency"), _CURRENCY_SHAPE),
            ),
        ),
        _rule(
            "known_type",
            _type_name().is_null(),
            pl.format("unknown Type {}", quoted_if_shaped(text("Type"), _TYPE_SHAPE)),
        ),
        _rule(
            "known_balance_impact",
            _type_name().is_not_null() & col("transaction_type").is_null(),
            pl.lit("Balance Impact is not Credit, Debit or Memo"),
        ),
        _rule(
            "known_status",
            col("status").is_null(),
            pl.format("unknown Status {}", quoted_if_shaped(text("Status"), _STATUS_SHAPE)),
        ),
        _rule(
            "date_parses",
            _local_time().is_null(),
            pl.format(
                "Date {} and Time {} are not a date and time",
                quoted_if_shaped(text("Date"), _DATE_SHAPE, max_digits=8),
                quoted_if_shaped(text("Time"), _DATE_SHAPE, max_digits=6),
            ),
        ),
        _rule(
            "known_time_zone",
            _utc_offset_minutes().is_null(),
            pl.format(
                "TimeZone {} is not an abbreviation this import maps to an offset",
                quoted_if_shaped(text("TimeZone"), _TIME_ZONE_SHAPE),
            ),
        ),
        _rule(
            "email_valid",
            ~col("email").str.contains(patterns.EMAIL).fill_null(False),
            pl.lit(
                "the customer's email (From Email Address; To Email Address on a refund) "
                "is missing or malformed"
            ),
        ),
    ]


def _not_exact(raw: str, typed: str, *, optional: bool = True) -> pl.Expr:
    """The typed amount is missing (where the text is not) or beyond NUMERIC(12,2)."""
    missing = pl.col(typed).is_null()
    if optional:
        missing = missing & text(raw).is_not_null()
    return missing | (pl.col(typed).abs() >= _MAX_ABS_AMOUNT).fill_null(False)


def _amount_reason(raw: str) -> pl.Expr:
    return (
        pl.when(text(raw).is_null())
        .then(pl.lit(f"{raw} is empty"))
        .otherwise(
            pl.format(
                f"{raw} {{}} is not an exact amount",
                quoted_if_shaped(text(raw), _AMOUNT_SHAPE, max_digits=9),
            )
        )
    )


class PaypalTransaction(SignedAmounts):
    """One PayPal sale or refund after typing: what the warehouse may store."""

    external_transaction_id: str = pa.Field(str_matches=_TRANSACTION_ID)
    amount: MONEY = pa.Field()
    fee: MONEY = pa.Field(nullable=True)
    net: MONEY = pa.Field(nullable=True)
    currency: str = pa.Field(str_matches=patterns.CURRENCY)
    transaction_type: str = pa.Field(isin=list(PAYPAL_TRANSACTION_TYPES))
    status: str = pa.Field(isin=list(CRM_STATUSES))
    transaction_date: UTC_TIMESTAMP = pa.Field()
    email: str = pa.Field(str_matches=patterns.EMAIL)
    offer_id: str = pa.Field(nullable=True)
    is_donation: bool = pa.Field()

    @pa.dataframe_check
    def net_is_gross_plus_fee(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """PayPal's Net is Gross plus its (negative) Fee, where both are given."""
        fee, net = pl.col("fee"), pl.col("net")
        return data.lazyframe.select(
            fee.is_null() | net.is_null() | (pl.col("amount") + fee == net).fill_null(False)
        )


PAYPAL_ACTIVITY = ExportSpec(
    name="PayPal activity",
    columns=PAYPAL_COLUMNS,
    required=REQUIRED_COLUMNS,
    id_column="external_transaction_id",
    typed_columns=typed_columns,
    row_rules=row_rules,
    delimiter="\t",
    # PayPal also offers the same report as comma-separated CSV.
    other_delimiters=(",",),
    aliases={"time zone": "TimeZone"},
    model=PaypalTransaction,
    model_reasons={
        "refund_amount_is_not_positive": "Payment Refund has a positive Gross",
        "sale_amount_is_not_negative": "incoming payment has a negative Gross",
        "net_is_gross_plus_fee": "Net is not Gross plus Fee",
    },
    skip_label=skip_label,
    email_column="From Email Address",
    how_to_export=(
        "download it from PayPal: Activity → Download, Transaction type 'All transactions', "
        "the date range wanted, format 'Tab delimited'"
    ),
    signature=frozenset({"Transaction ID", "Balance Impact", "Gross", "Net", "TimeZone"}),
)
