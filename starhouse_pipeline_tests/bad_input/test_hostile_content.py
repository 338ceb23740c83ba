"""Hostile content is stored verbatim and stays harmless, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from starhouse_pipeline.domain.quarantine import neutralize_formula, quarantine_csv
from starhouse_pipeline.warehouse.tables import contacts, products, transactions
from starhouse_pipeline_tests.bad_input.running import run_job
from starhouse_pipeline_tests.support import check_results, export_row, fetch_all, write_export

# Each value is used as a customer's name, an offer title and a city; the first word is kept
# free of whitespace so the contact's first and last name join back to the exact value.
HOSTILE = [
    "Robert'); DROP TABLE contacts;--",
    "1' OR '1'='1 /* comment */ UNION SELECT password FROM users",
    'Quote " double "" and \' single `back` tick',
    "back\\slash \\\\ trailing\\ and \\n \\x00 literal escapes",
    "ctrl \x01\x02\x07 \x1b[31mred\x1b[0m \x7f\ttab inside",
    "line\nbreak and \r\nCRLF and \r lone CR inside",
    "emoji 🌟🪐 👩🏽‍🚀 with ZWJ and \u200b zero-width \ufeff BOM",
    "RTL \u202eevil\u202c שלום مرحبا \u200f mark",
    '=HYPERLINK("http://evil.example","click")',
    "+1+1 formula",
    "-2+3 formula",
    "@SUM(A1:A9) formula",
    "%s %(name)s {0} {name!r} $1 ${HOME} $(whoami)",
    "<script>alert(1)</script> | pipe | **bold** [link](javascript:alert(1))",
    "NULL",
]


def _export(tmp_path: Path) -> Path:
    rows = [
        export_row(
            ID=str(3000 + n),
            Customer_Name=value,
            Customer_Email=f"hostile{n}@example.com",
            Offer_ID=str(80000 + n),
            Offer_Title=value,
            Address=value,
            City=value,
            Failure_Message=value,
        )
        for n, value in enumerate(HOSTILE)
    ]
    return write_export(tmp_path / "hostile.csv", rows)


def test_hostile_values_round_trip_exactly(database_url: str, tmp_path: Path) -> None:
    result = run_job(database_url, _export(tmp_path), max_quarantine_share=0.0)

    assert result.success
    assert all(check_results(result).values())
    stored = {
        row.external_transaction_id: row.raw_source
        for row in fetch_all(
            database_url,
            sa.select(transactions.c.external_transaction_id, transactions.c.raw_source),
        )
    }
    names = dict(fetch_all(database_url, sa.select(products.c.kajabi_offer_id, products.c.name)))
    people = {
        row.email: row
        for row in fetch_all(
            database_url,
            sa.select(
                contacts.c.email,
                contacts.c.first_name,
                contacts.c.last_name,
                contacts.c.address_line_1,
                contacts.c.city,
            ),
        )
    }
    for n, value in enumerate(HOSTILE):
        raw = stored[str(3000 + n)]
        assert raw["Customer Name"] == value
        assert raw["Offer Title"] == value
        assert raw["Failure Message"] == value
        assert names[str(80000 + n)] == value
        person = people[f"hostile{n}@example.com"]
        assert person.first_name == value.split()[0]
        rest = value.strip().split(maxsplit=1)[1:]
        assert person.last_name == (rest[0] if rest else None)
        assert (person.address_line_1, person.city) == (value, value)
    tables = fetch_all(database_url, sa.select(sa.func.count()).select_from(contacts))
    assert tables == [(len(HOSTILE),)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1 303 555 0101", "'+1 303 555 0101"),
        ("-22.00", "'-22.00"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Ann Lee", "Ann Lee"),
        ("", ""),
        (None, None),
    ],
)
def test_formula_prefixes_are_neutralized(value: str | None, expected: str | None) -> None:
    assert neutralize_formula(value) == expected


def test_quarantine_csv_is_safe_to_open_in_a_spreadsheet() -> None:
    rows = pl.DataFrame(
        {
            "line_number": [2, 3],
            "external_transaction_id": ["=cmd|' /C calc'!A0", "1002"],
            "rule": ["id_numeric", "amount_parses"],
            "reason": ["ID '=cmd' is not a transaction number", "@risk"],
        }
    )
    parsed = list(csv.reader(io.StringIO(quarantine_csv(rows), newline="")))
    assert parsed[0] == ["line_number", "external_transaction_id", "rule", "reason"]
    assert parsed[1][1] == "'=cmd|' /C calc'!A0"
    assert parsed[2][3] == "'@risk"
    cells = [cell for row in parsed[1:] for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
