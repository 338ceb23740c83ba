"""The bad-input corpus: small exports generated on the fly, one per case in docs/bad-input.md.

Generated rather than committed so each case is readable next to its bytes, and so the
encodings and binary files are exactly what the case says.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS
from starhouse_pipeline_tests.support import export_row

PEOPLE_HEADER = (
    "Name,First Name,Last Name,Email,Phone Number (phone_number),"
    "Mobile Phone Number (mobile_phone_number),Address (address_line_1),"
    "Address Line 2 (address_line_2),City (address_city),State (address_state),"
    "Zip Code (address_zip),Country (address_country),ID,Member ID,Products,Tags,Last Activity"
)
SUBSCRIPTIONS_HEADER = (
    "Kajabi Subscription ID,Customer Email,Customer Name,Customer ID,Offer ID,Offer Title,"
    "Amount,Currency,Interval,Status,Created At,Next Payment Date,Canceled On,Trial Ends On,"
    "Provider,Coupon Used"
)


def csv_text(
    rows: Sequence[Mapping[str, str]], columns: Sequence[str] = TRANSACTION_COLUMNS
) -> str:
    """Rows as Kajabi writes them (CRLF, minimal quoting), without a BOM."""
    import csv

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in columns})
    return buffer.getvalue()


def header_line(columns: Sequence[str] = TRANSACTION_COLUMNS) -> str:
    return ",".join(columns) + "\r\n"


@dataclass(frozen=True)
class WholeFileCase:
    """A file the run must refuse before any write, and words the message must contain."""

    name: str
    content: bytes
    message: tuple[str, ...]


def _good_csv() -> str:
    return csv_text([export_row(ID="1001"), export_row(ID="1002")])


def _without(*missing: str) -> bytes:
    columns = [c for c in TRANSACTION_COLUMNS if c not in missing]
    return csv_text([export_row()], columns).encode()


WHOLE_FILE_CASES: tuple[WholeFileCase, ...] = (
    WholeFileCase("empty", b"", ("the file is empty",)),
    WholeFileCase("blank_lines_only", b"\r\n\r\n  \r\n", ("the file is empty",)),
    WholeFileCase("bom_only", b"\xef\xbb\xbf", ("the file is empty",)),
    WholeFileCase(
        "missing_required_columns",
        _without("Amount", "Customer Email"),
        ("missing required column(s) Amount, Customer Email",),
    ),
    WholeFileCase(
        "people_export",
        (PEOPLE_HEADER + "\r\nAnn Lee,Ann,Lee,ann@example.com,,,,,,,,,1,2,,,\r\n").encode(),
        ("missing required column(s)", "looks like a Kajabi People (contacts) export"),
    ),
    WholeFileCase(
        "subscriptions_export",
        (
            SUBSCRIPTIONS_HEADER + "\r\nsub_1,ann@example.com,Ann Lee,9001,2148572615,"
            'Membership,$242.00,USD,year,active,"Nov 28, 2025",,,,stripe,\r\n'
        ).encode(),
        ("missing required column(s) ID", "looks like a Kajabi Subscriptions export"),
    ),
    WholeFileCase(
        "random_csv",
        b"city,population\r\nBoulder,108000\r\n",
        ("missing required column(s) ID", "looks like another CSV"),
    ),
    WholeFileCase(
        "repeated_column",
        (header_line((*TRANSACTION_COLUMNS, "Amount"))).encode(),
        ("header repeats column(s) Amount",),
    ),
    WholeFileCase(
        "semicolon_separated",
        _good_csv().replace(",", ";").encode(),
        ("separated by ';', not commas",),
    ),
    WholeFileCase(
        "tab_separated",
        _good_csv().replace(",", "\t").encode(),
        ("separated by tabs, not commas",),
    ),
    WholeFileCase(
        "truncated_mid_quote",
        (
            _good_csv() + '1003,22.00,USD,succeeded,charge,card,2025-11-08 04:11:00 -0700,,,1,"Cou'
        ).encode(),
        ("line 4", "malformed CSV", "truncated"),
    ),
    WholeFileCase(
        "binary_with_nul",
        b"ID,Amount\r\n\x00\x01\x02\x03garbage",
        ("line 2", "NUL byte", "binary"),
    ),
    WholeFileCase(
        "gzip_of_an_export",
        gzip.compress(_good_csv().encode()),
        ("gzip-compressed", "not a CSV export"),
    ),
    WholeFileCase(
        "xlsx_workbook",
        b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)),
        ("ZIP archive", "xlsx"),
    ),
    WholeFileCase("png_image", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ("a PNG image",)),
    WholeFileCase(
        "high_bytes_without_nul",
        b"ID,Amount\r\n\x81\x8d\xfe\xff\xc3\x28\r\n",
        ("line 2", "not valid UTF-8", "not certainly cp1252"),
    ),
    WholeFileCase(
        "utf16_from_spreadsheet",
        _good_csv().encode("utf-16"),
        ("UTF-16", "CSV UTF-8"),
    ),
    WholeFileCase(
        "mixed_utf8_and_cp1252",
        (
            csv_text([export_row(ID="1001", Customer_Name="José Müller")]).encode()
            + csv_text([export_row(ID="1002", Customer_Name="Zoë Brontë")])
            .split("\r\n", 1)[1]
            .encode("cp1252")
        ),
        ("line 3", "not valid UTF-8", "not certainly cp1252"),
    ),
    WholeFileCase(
        "cp1252_with_undefined_byte",
        csv_text([export_row(Customer_Name="Zoë")]).encode("cp1252") + b"\x81\r\n",
        ("not valid UTF-8", "not certainly cp1252"),
    ),
    WholeFileCase(
        "double_encoded_utf8",
        csv_text(
            [export_row(ID="1001"), export_row(ID="1002", Customer_Name="JosÃ© Müller")]
        ).encode(),
        ("line 3", "double-encoded", "'Ã©' for 'é'"),
    ),
)
