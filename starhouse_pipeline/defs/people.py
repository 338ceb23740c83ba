"""The Kajabi People export: contacts merged without overwriting a value.

`kajabi_people` fills only empty fields (logged) and reports conflicts; `people_import_job`
runs it with its check.
"""

import dagster as dg

from starhouse_pipeline.defs.exports import (
    EXPORTS_GROUP,
    WAREHOUSE_POOL,
    export_assets,
    row_accounting_check,
    summary_line,
)
from starhouse_pipeline.defs.resources import ImportOptions, WarehouseResource
from starhouse_pipeline.domain import contacts as contact_rules
from starhouse_pipeline.domain import people as people_rules
from starhouse_pipeline.domain.formatting import counts_frame, markdown_table
from starhouse_pipeline.domain.people import PEOPLE, PEOPLE_LABELS, people_counts, people_summary
from starhouse_pipeline.domain.validation import ValidatedExport
from starhouse_pipeline.warehouse import bookkeeping
from starhouse_pipeline.warehouse import contacts as warehouse_contacts
from starhouse_pipeline.warehouse import people as warehouse_people

PEOPLE_EXPORT = export_assets(
    PEOPLE,
    raw_name="raw_kajabi_people",
    validated_name="validated_kajabi_people",
    group=EXPORTS_GROUP,
    # A few hundred rows: one bad row is already 1%. The gate warns; the load goes on.
    gate_stops_load=False,
    refusals=warehouse_people.refused_by_crm,
)
raw_kajabi_people = PEOPLE_EXPORT.raw
validated_kajabi_people = PEOPLE_EXPORT.validated
people_quarantine_gate = PEOPLE_EXPORT.quarantine_gate


@dg.asset(group_name=EXPORTS_GROUP, kinds={"polars", "sql"}, pool=WAREHOUSE_POOL)
def kajabi_people(
    context: dg.AssetExecutionContext,
    validated_kajabi_people: ValidatedExport,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
) -> dg.Output[people_rules.PeopleImport]:
    """Kajabi's contacts merged into the CRM without overwriting anything: empty fields are
    filled (and logged), differing values are reported as conflicts, new people added.

    Conflicts go to `contact_conflicts` (contact and field, no values); fills to
    `contact_enrichment_log` with source `kajabi_people`.
    """
    validated = validated_kajabi_people
    dry_run = import_options.dry_run
    with warehouse.transaction(dry_run=dry_run) as connection:
        snapshot = warehouse_people.read_people_snapshot(
            connection, validated.valid.get_column("email")
        )
        plan = people_rules.plan_people(validated.valid, snapshot)
        counts = people_rules.plan_counts(plan)
        if not dry_run:
            counts |= warehouse_people.apply_people_plan(connection, plan, context.run_id)
            bookkeeping.finish_import_run(
                connection,
                context.run_id,
                rows_new=counts["contacts_created"],
                rows_updated=counts["contacts_matched"],
            )
    outcome = people_rules.PeopleImport(
        dry_run=dry_run,
        rows_read=validated.rows_read,
        quarantined=validated.quarantined.height,
        collapsed=len(validated.collapsed_lines),
        counts=counts,
        snapshot=snapshot,
    )
    conflicts_by_field = plan.conflicts.group_by("field").len().sort("field")
    numbers = {
        "rows_read": outcome.rows_read,
        **counts,
        "quarantined": outcome.quarantined,
        "duplicates_collapsed": outcome.collapsed,
    }
    shown = people_counts(numbers, dry_run)
    return dg.Output(
        outcome,
        metadata={
            **summary_line(people_summary(numbers, dry_run)),
            "counts": dg.MetadataValue.md(
                markdown_table(counts_frame(shown, PEOPLE_LABELS, dry_run))
            ),
            **numbers,
            "conflicts_by_field": dg.MetadataValue.md(markdown_table(conflicts_by_field)),
            "dry_run": dry_run,
        },
    )


@dg.asset_check(asset=kajabi_people, blocking=True)
def people_import_never_overwrote(
    context: dg.AssetCheckExecutionContext,
    kajabi_people: people_rules.PeopleImport,
    warehouse: WarehouseResource,
) -> dg.AssetCheckResult:
    """Every value a matched contact held before the import is still there, conflicts
    included (they are reported, not applied)."""
    if kajabi_people.dry_run:
        return dg.AssetCheckResult(passed=True, description="Dry run: nothing was written.")
    before = kajabi_people.snapshot
    with warehouse.transaction(dry_run=True) as connection:
        now = warehouse_contacts.read_contact_fields(
            connection, before["id"].to_list(), people_rules.PEOPLE_FIELDS
        )
        conflicts = warehouse_people.read_conflicts(connection, context.run.run_id)
    held = contact_rules.values_held(before, people_rules.PEOPLE_FIELDS)
    changed = contact_rules.values_changed(held, now)
    return dg.AssetCheckResult(
        passed=changed.is_empty(),
        metadata={
            "values_held_before": held.height,
            "values_changed": changed.height,
            "conflicts_reported": conflicts.height,
        },
    )


every_person_row_accounted_for = row_accounting_check(kajabi_people)


# Each job runs in one process, like `import_job`: its steps are short (0.2-1 s) and touch one
# database, so a process per step (Dagster's default) cost more than the work: the analytics
# took 39 s for 800 rows that way.
people_import_job = dg.define_asset_job(
    "people_import_job",
    selection=dg.AssetSelection.assets(*PEOPLE_EXPORT.assets, kajabi_people),
    description="Merge one Kajabi People export into `contacts` without overwriting anything.",
    executor_def=dg.in_process_executor,
)
