"""The sample generator: deterministic, in Kajabi's format, with the intended mixes and defects.

Other tests and the benchmarks trust these files to look like real exports and to carry
known defects at known lines, so those promises are checked here on the files themselves.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter
from pathlib import Path

import pytest

from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS
from starhouse_pipeline.samples.generator import (
    SAMPLE_EXPORT_NAME,
    SampleFacts,
    build_sample,
    csv_text,
    generate_export_rows,
    main,
    write_export,
    write_sample,
)

COL = {name: index for index, name in enumerate(TRANSACTION_COLUMNS)}
AMOUNT = re.compile(r"^-?\d+\.\d{2}$")
CREATED_AT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:00 [+-]\d{4}$")
EXAMPLE_EMAIL = re.compile(r"^[a-z0-9._]+@example\.(com|org|net)$")


def _records(path: Path) -> list[tuple[int, list[str]]]:
    """(line the record starts on, fields) for every record, header included."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    records, next_line = [], 1
    for fields in reader:
        records.append((next_line, fields))
        next_line = reader.line_num + 1
    return records


def _norm_email(text: str) -> str:
    return text.strip().lower()


def _norm_name(text: str) -> str:
    return " ".join(text.split()).lower()


@pytest.fixture(scope="module")
def rows_20k() -> list[list[str]]:
    return list(generate_export_rows(20_000, seed=11))


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sample")
    write_sample(directory)
    return directory


@pytest.fixture(scope="module")
def facts() -> SampleFacts:
    return build_sample().facts


@pytest.fixture(scope="module")
def sample_rows(sample_dir: Path) -> list[tuple[int, list[str]]]:
    return _records(sample_dir / SAMPLE_EXPORT_NAME)[1:]


def _crm(sample_dir: Path, name: str) -> list[dict[str, str]]:
    with (sample_dir / "crm" / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# -- determinism and file format ------------------------------------------------------------


def test_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    first = write_export(tmp_path / "a.csv", 3_000, seed=3).read_bytes()
    again = write_export(tmp_path / "b.csv", 3_000, seed=3).read_bytes()
    other = write_export(tmp_path / "c.csv", 3_000, seed=4).read_bytes()
    assert first == again
    assert first != other


def test_sample_is_reproducible(tmp_path: Path, sample_dir: Path) -> None:
    write_sample(tmp_path)
    crm = ("crm/contacts.csv", "crm/products.csv", "crm/transactions.csv")
    for name in (SAMPLE_EXPORT_NAME, *crm):
        assert (tmp_path / name).read_bytes() == (sample_dir / name).read_bytes(), name


def test_file_has_bom_crlf_header_and_28_fields(tmp_path: Path) -> None:
    path = write_export(tmp_path / "export.csv", 5_000, seed=5)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfID,Amount,Currency,")
    records = _records(path)
    assert records[0][1] == list(TRANSACTION_COLUMNS)
    assert len(records) == 5_001
    assert all(len(fields) == 28 for _, fields in records)
    # Every record ends in CRLF; a newline inside a quoted address stays a bare LF.
    assert raw.count(b"\r\n") == len(records)
    assert raw.endswith(b"\r\n")


def test_fast_csv_text_matches_the_csv_module() -> None:
    rows: list[list[str]] = list(generate_export_rows(20_000, seed=8))
    rows += [[""], [], ["a", ""], ['say "hi"', "x"], ["line\nbreak"], ["cr\r"], [" padded "]]
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\r\n").writerows([TRANSACTION_COLUMNS, *rows])
    assert "".join(csv_text(rows, header=TRANSACTION_COLUMNS)) == expected.getvalue()


def test_clean_rows_have_no_mess() -> None:
    rows = list(generate_export_rows(5_000, seed=2, messy=False))
    assert all(EXAMPLE_EMAIL.match(row[COL["Customer Email"]]) for row in rows)
    assert not any("\n" in field or "," in field for row in rows for field in row[11:21])
    assert all(row[COL["Offer Title"]] == " ".join(row[COL["Offer Title"]].split()) for row in rows)
    assert len({row[COL["ID"]] for row in rows}) == len(rows)


def test_zero_and_one_row() -> None:
    assert list(generate_export_rows(0)) == []
    (row,) = generate_export_rows(1)
    assert len(row) == 28


# -- realism ---------------------------------------------------------------------------------


def test_type_and_status_mix(rows_20k: list[list[str]]) -> None:
    n = len(rows_20k)
    types = Counter(row[COL["Type"]] for row in rows_20k)
    statuses = Counter(row[COL["Status"]] for row in rows_20k)
    for kind, share in {"subscription": 0.45, "charge": 0.35, "payment plan": 0.15}.items():
        assert types[kind] / n == pytest.approx(share, abs=0.03), kind
    assert types["refund"] / n == pytest.approx(0.05, abs=0.015)
    assert statuses["succeeded"] / n == pytest.approx(0.90, abs=0.03)
    assert statuses["failed"] / n == pytest.approx(0.08, abs=0.02)
    assert statuses["pending"] / n == pytest.approx(0.02, abs=0.01)
    assert set(types) == {"subscription", "charge", "payment plan", "refund"}


def test_refunds_are_negative_and_succeeded(rows_20k: list[list[str]]) -> None:
    refunds = [row for row in rows_20k if row[COL["Type"]] == "refund"]
    assert refunds
    assert all(row[COL["Amount"]].startswith("-") for row in refunds)
    assert all(row[COL["Status"]] == "succeeded" for row in refunds)
    others = [row for row in rows_20k if row[COL["Type"]] != "refund"]
    assert not any(row[COL["Amount"]].startswith("-") for row in others)


def test_failed_rows_carry_attempt_and_message(rows_20k: list[list[str]]) -> None:
    for row in rows_20k:
        if row[COL["Status"]] == "failed":
            assert row[COL["Charge Attempt"]] in {"1", "2", "3", "4"}
            assert row[COL["Failure Message"]].endswith(".")
        else:
            assert row[COL["Charge Attempt"]] == row[COL["Failure Message"]] == ""


def test_amounts_and_timestamps_are_kajabi_shaped(rows_20k: list[list[str]]) -> None:
    assert all(AMOUNT.match(row[COL["Amount"]]) for row in rows_20k)
    created = [row[COL["Created At"]] for row in rows_20k]
    assert all(CREATED_AT.match(value) for value in created)
    assert min(value[:10] for value in created) >= "2020-12-01"
    assert max(value[:10] for value in created) <= "2025-11-30"
    # Newest first, as Kajabi lists them (the day can step back only where an offset differs).
    days = [value[:10] for value in created]
    assert sum(a >= b for a, b in itertools.pairwise(days)) / len(days) > 0.99


def test_mountain_offsets_follow_daylight_saving(rows_20k: list[list[str]]) -> None:
    offsets = Counter(row[COL["Created At"]][-5:] for row in rows_20k)
    assert offsets["-0600"] + offsets["-0700"] > 0.85 * len(rows_20k)
    assert len(offsets) > 2  # a few customers show their own offset
    for row in rows_20k:
        value = row[COL["Created At"]]
        if value[5:7] == "07":
            assert value[-5:] != "-0700"
        if value[5:7] == "01":
            assert value[-5:] != "-0600"


def test_customers_offers_and_order_numbers_scale(rows_20k: list[list[str]]) -> None:
    customers = {row[COL["Customer ID"]] for row in rows_20k}
    assert len(customers) == pytest.approx(20_000 / 4.4, rel=0.05)
    offers = {row[COL["Offer ID"]] for row in rows_20k}
    assert 60 <= len(offers) <= 102
    renewals = [row for row in rows_20k if row[COL["Type"]] == "subscription"]
    assert sum(row[COL["Order No."]] == "" for row in renewals) / len(renewals) > 0.7
    assert all(row[COL["Order No."]].isdigit() for row in rows_20k if row[COL["Type"]] == "charge")


def test_only_example_domains_and_fictional_phones(rows_20k: list[list[str]]) -> None:
    assert all(EXAMPLE_EMAIL.match(_norm_email(row[COL["Customer Email"]])) for row in rows_20k)
    phones = [row[COL["Phone"]] for row in rows_20k if row[COL["Phone"]]]
    assert all("555" in phone for phone in phones)
    assert 0.3 < 1 - len(phones) / len(rows_20k) < 0.5


def test_messy_rows_exist(rows_20k: list[list[str]]) -> None:
    emails = [row[COL["Customer Email"]] for row in rows_20k]
    assert any(email != email.strip() for email in emails)
    assert any(email.strip() != email.strip().lower() for email in emails)
    assert any("," in row[COL["Customer Name"]] for row in rows_20k)
    assert any("\n" in row[COL["Address"]] for row in rows_20k)
    titles = {row[COL["Offer Title"]] for row in rows_20k}
    assert any(title != " ".join(title.split()) for title in titles)
    names = {row[COL["Customer Name"]] for row in rows_20k}
    assert any("'" in name for name in names)
    assert any(not name.isascii() for name in names)
    seen: dict[str, list[str]] = {}
    exact = 0
    for row in rows_20k:
        earlier = seen.setdefault(row[COL["ID"]], row)
        exact += earlier is not row and earlier == row
    assert exact >= 1


# -- the bundled sample ----------------------------------------------------------------------


def test_sample_size_and_defects_at_their_lines(
    sample_rows: list[tuple[int, list[str]]], facts: SampleFacts
) -> None:
    assert facts.rows == len(sample_rows) == 800
    by_line = dict(sample_rows)
    expected = {
        "unknown_type": ("Type", "gift"),
        "unknown_status": ("Status", "disputed"),
        "unparseable_amount": ("Amount", "twelve"),
        "empty_email": ("Customer Email", ""),
    }
    for defect, (column, value) in expected.items():
        assert by_line[facts.bad_lines[defect]][COL[column]] == value, defect
    naive = by_line[facts.bad_lines["missing_offset"]][COL["Created At"]]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", naive)
    lines = [line for line, _ in sample_rows]
    for line in facts.bad_lines.values():
        following = lines[lines.index(line) + 1]
        assert following == line + 1, "a defect row spans one line"


def test_sample_duplicates(sample_rows: list[tuple[int, list[str]]], facts: SampleFacts) -> None:
    by_line = dict(sample_rows)
    exact = by_line[facts.exact_duplicate_line]
    earlier = [f for line, f in sample_rows if line < facts.exact_duplicate_line]
    assert exact in earlier
    conflicting = by_line[facts.bad_lines["conflicting_duplicate"]]
    assert conflicting[COL["ID"]] == facts.conflicting_id
    (original,) = [
        f
        for line, f in sample_rows
        if f[COL["ID"]] == facts.conflicting_id and line < facts.bad_lines["conflicting_duplicate"]
    ]
    assert original[COL["Amount"]] != conflicting[COL["Amount"]]
    assert original[:1] + original[2:] == conflicting[:1] + conflicting[2:]


def test_sample_products(sample_dir: Path, sample_rows: list[tuple[int, list[str]]]) -> None:
    products = _crm(sample_dir, "products.csv")
    titles = {f[COL["Offer ID"]]: f[COL["Offer Title"]] for _, f in sample_rows}
    by_offer = {p["kajabi_offer_id"]: p for p in products if p["kajabi_offer_id"]}
    without_id = [p for p in products if not p["kajabi_offer_id"]]
    assert len(without_id) == 3
    name_only = [
        p
        for p in without_id
        if _norm_name(p["name"]) in {_norm_name(title) for title in titles.values()}
    ]
    assert len(name_only) == 1
    (product,) = name_only
    assert product["name"] != product["name"].strip()
    (offer_id,) = [o for o, t in titles.items() if _norm_name(t) == _norm_name(product["name"])]
    assert offer_id not in by_offer
    assert sum(name.startswith("Ticket Tailor:") for name in (p["name"] for p in without_id)) == 1
    missing = [o for o in titles if o not in by_offer and o != offer_id]
    assert len(missing) == 2
    assert (len(titles) - 3) / len(titles) > 0.8


def test_sample_contacts(
    sample_dir: Path, sample_rows: list[tuple[int, list[str]]], facts: SampleFacts
) -> None:
    contacts = _crm(sample_dir, "contacts.csv")
    assert set(contacts[0]) >= {"email", "phone_source", "billing_address_source", "deleted_at"}
    assert all(c["created_at"].endswith("+00:00") for c in contacts)
    phone_of: dict[str, str] = {}
    address_of: dict[str, str] = {}
    for _, fields in sample_rows:
        email = _norm_email(fields[COL["Customer Email"]])
        if not email:
            continue
        phone_of.setdefault(email, "")
        if fields[COL["Phone"]] and not phone_of[email]:
            phone_of[email] = fields[COL["Phone"]]
        if fields[COL["Address"]]:
            address_of.setdefault(email, fields[COL["Address"]])
    matched = [c for c in contacts if _norm_email(c["email"]) in phone_of]
    assert len(matched) / len(phone_of) == pytest.approx(0.7, abs=0.05)
    assert len(contacts) - len(matched) >= 10
    assert any(c["email"] != c["email"].lower() for c in matched)
    phone_fills = [c for c in matched if not c["phone"] and phone_of[_norm_email(c["email"])]]
    address_fills = [
        c for c in matched if not c["address_line_1"] and _norm_email(c["email"]) in address_of
    ]
    kept = [
        c
        for c in matched
        if c["phone"] and phone_of[_norm_email(c["email"])] not in ("", c["phone"])
    ]
    assert len(phone_fills) == facts.phone_fills >= 3
    assert len(address_fills) == facts.address_fills >= 3
    assert len(kept) == facts.protected_phones >= 2
    assert facts.contacts_to_enrich == len({c["id"] for c in phone_fills + address_fills})


def test_sample_crm_transactions(sample_dir: Path) -> None:
    contacts = {c["id"] for c in _crm(sample_dir, "contacts.csv")}
    products = {p["id"] for p in _crm(sample_dir, "products.csv")}
    transactions = _crm(sample_dir, "transactions.csv")
    assert len(transactions) == 20
    assert {t["source_system"] for t in transactions} == {"ticket_tailor", "paypal"}
    assert all(t["contact_id"] in contacts and t["product_id"] in products for t in transactions)
    assert all(t["transaction_date"].endswith("+00:00") for t in transactions)


# -- command line ------------------------------------------------------------------------------


def test_main_writes_an_export_and_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--rows", "250", "--seed", "9", str(tmp_path / "big.csv")]) == 0
    assert len(_records(tmp_path / "big.csv")) == 251
    assert main([str(tmp_path / "sample")]) == 0
    assert (tmp_path / "sample" / "crm" / "contacts.csv").is_file()
    assert "800 rows" in capsys.readouterr().out
