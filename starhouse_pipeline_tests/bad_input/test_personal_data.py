"""No email, phone, address or full name leaves the warehouse unmasked; no password at all."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import pytest

from starhouse_pipeline.definitions import build_definitions
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.defs.run_config import job_run_config
from starhouse_pipeline.settings import SAMPLE_EXPORT
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.tables import contacts
from starhouse_pipeline_tests.bad_input.corpus import csv_text
from starhouse_pipeline_tests.bad_input.running import run_job, step_failure_messages
from starhouse_pipeline_tests.faults.state import SEEDED_AT
from starhouse_pipeline_tests.support import (
    export_row,
    insert_rows,
    materialization_metadata,
    write_export,
)

PEOPLE = [
    ("Ann Lee", "ann.lee@example.com", "+1 303-555-0101", "1 Main St, Apt 2"),
    ("Bob Ray", "Bob.Ray@Example.org", "(720) 555-0199", "5 Oak Avenue"),
    ("Cy Moon", "cy.moon@example.net", "303.555.0177", "77 Sunset Blvd"),
    ("Dee Sky", "dee.sky@example.com", "7205550123", "9 Elm Street"),
]
FAKE_PASSWORD = "Sup3rS3cret-Passw0rd"


def _export(tmp_path: Path) -> Path:
    rows = []
    for n, (name, email, phone, address) in enumerate(PEOPLE):
        person = {
            "Customer_Name": name,
            "Customer_Email": email,
            "Phone": phone,
            "Address": address,
            "City": "Boulder",
        }
        rows.append(export_row(ID=str(1000 + n), **person))
        rows.append(export_row(ID=str(2000 + n), Type="refund", Amount="-5.00", **person))
    bad = [
        export_row(ID="3001", Amount=PEOPLE[0][1], Customer_Email=PEOPLE[0][1]),
        export_row(ID=PEOPLE[1][2], Customer_Email=PEOPLE[1][1], Phone=PEOPLE[1][2]),
        export_row(ID="3003", Type=PEOPLE[2][2], Customer_Email=PEOPLE[2][1]),
        export_row(ID="3004", Created_At=PEOPLE[3][3], Customer_Email=PEOPLE[3][1]),
    ]
    shifted = f"3005,{PEOPLE[0][0]},{PEOPLE[0][1]},{PEOPLE[0][2]}\r\n"
    path = tmp_path / "people.csv"
    path.write_text(csv_text(rows + bad) + shifted, encoding="utf-8", newline="")
    return path


def _needles() -> list[str]:
    needles = []
    for name, email, phone, address in PEOPLE:
        digits = "".join(c for c in phone if c.isdigit())
        needles += [name, email, email.lower(), email.split("@")[0], phone, digits[-7:]]
        needles += [address]
    return needles


def _event_log_text(instance: dg.DagsterInstance, run_id: str) -> str:
    """Every event of the run, messages and metadata included, as one searchable text."""
    return "\n".join(dg.serialize_value(entry) for entry in instance.all_logs(run_id))


def _sample_needles(path: Path) -> list[str]:
    """Every email, phone, full name and street of an export (phones also as bare digits)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    needles = set()
    for row in rows:
        phone = row["Phone"].strip()
        digits = "".join(c for c in phone if c.isdigit())
        needles |= {row["Customer Email"].strip(), row["Customer Name"].strip()}
        needles |= {phone, digits[-7:] if len(digits) >= 7 else ""}
        needles |= {row["Address"].strip()}
    return sorted(needle for needle in needles if needle)


@pytest.mark.parametrize("export", ["people", "bundled_sample"])
def test_event_log_and_report_carry_no_email_phone_address_or_name(
    sqlite_url: str, tmp_path: Path, export: str
) -> None:
    path = _export(tmp_path) if export == "people" else SAMPLE_EXPORT
    needles = _needles() if export == "people" else _sample_needles(SAMPLE_EXPORT)
    with dg.instance_for_test() as instance:
        result = run_job(
            sqlite_url,
            path,
            instance=instance,
            max_quarantine_share=1,
            allow_sample_in_this_warehouse=True,  # a test warehouse, not the embedded demo one
        )
        assert result.success
        log = _event_log_text(instance, result.run_id)
    report = materialization_metadata(result, "import_report")["report"]
    report_file = Path(materialization_metadata(result, "import_report")["path"]).read_text()
    assert "***@example." in log
    for needle in needles:
        assert needle.lower() not in log.lower(), f"{needle!r} in the event log"
        assert needle.lower() not in report.lower(), f"{needle!r} in the report"
        assert needle.lower() not in report_file.lower(), f"{needle!r} in the report file"


def _unreachable_url() -> str:
    return f"postgresql+psycopg://starhouse:{FAKE_PASSWORD}@127.0.0.1:1/starhouse"


@pytest.mark.parametrize("how", ["resource_config", "environment_variable", "env_var_config"])
def test_database_password_never_appears_in_logs_metadata_or_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setenv("STARHOUSE_DATABASE_URL", _unreachable_url())
    url = {
        "resource_config": _unreachable_url(),
        "environment_variable": "",
        "env_var_config": dg.EnvVar("STARHOUSE_DATABASE_URL"),
    }[how]
    warehouse = WarehouseResource(database_url=url, retry_wait_seconds=0)
    run_config = job_run_config("import_job", _export(tmp_path), max_quarantine_share=1.0)
    with dg.instance_for_test() as instance:
        result = (
            build_definitions(warehouse)
            .resolve_job_def("import_job")
            .execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)
        )
        log = _event_log_text(instance, result.run_id)
        run = instance.get_run_by_id(result.run_id)
    assert not result.success
    messages = step_failure_messages(result)
    assert "validated_transactions" in messages
    failure = messages["validated_transactions"]
    assert "lost the warehouse database postgresql+psycopg://starhouse:***@127.0.0.1:1" in failure
    assert "Exceeded max_retries of 2" in failure
    assert FAKE_PASSWORD not in failure
    assert FAKE_PASSWORD not in log
    assert FAKE_PASSWORD not in dg.serialize_value(run)
    shown = WarehouseResource(database_url=_unreachable_url()).display_url()
    assert shown == "postgresql+psycopg://starhouse:***@127.0.0.1:1/starhouse"


@pytest.mark.postgres
def test_a_database_error_quoting_row_values_is_masked(postgres_url: str, tmp_path: Path) -> None:
    """PostgreSQL's DETAIL line quotes the offending values; the failure must not."""
    phone = "303-555-0142"
    insert_rows(
        postgres_url,
        contacts,
        [
            {"id": 1, "email": "ann.lee@example.com", "created_at": SEEDED_AT},
            {"id": 2, "email": "bob.ray@example.org", "created_at": SEEDED_AT},
        ],
    )
    engine = create_warehouse_engine(postgres_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE UNIQUE INDEX one_phone_each ON contacts (phone)")
    engine.dispose()
    rows = [
        export_row(ID="1001", Customer_Email="ann.lee@example.com", Phone=phone),
        export_row(ID="1002", Customer_Email="bob.ray@example.org", Phone=phone),
    ]
    with dg.instance_for_test() as instance:
        result = run_job(postgres_url, write_export(tmp_path / "k.csv", rows), instance=instance)
        log = _event_log_text(instance, result.run_id)

    assert not result.success
    failure = step_failure_messages(result)["contact_enrichments"]
    assert "refused this step's writes: duplicate key value violates unique constraint" in failure
    assert "(UniqueViolation); nothing of this step was committed" in failure
    for needle in (phone, "3035550142", "ann.lee", "bob.ray"):
        assert needle not in log
