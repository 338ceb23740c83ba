"""What the CRM database really is, read from it: the one module that knows its shape.

The CRM tables (`contacts`, `products`, `transactions`, and the CRM's own `subscriptions`
where it has one) belong to the operator. Their key types, enum types, `citext` columns,
NOT NULLs, defaults, CHECK constraints, unique indexes (partial and expression ones
included) and generated columns are read here, at run time and in migrations, and never
assumed. The rest of the warehouse asks this module: which key type a reference must have,
how an email is matched, which rows a CHECK would refuse, what a migration must refuse.
"""

from __future__ import annotations

import re
import warnings
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.contacts import ENRICHABLE_FIELDS, ENRICHMENT_PROVENANCE
from starhouse_pipeline.domain.transactions import TRANSACTION_RECORD_COLUMNS
from starhouse_pipeline.warehouse import tables
from starhouse_pipeline.warehouse.engine import schema_layout
from starhouse_pipeline.warehouse.types import CrmKey, _TypedByTheDatabase

CRM_TABLE_NAMES = ("contacts", "products", "transactions")
# Key types the pipeline can reference and generate rows for.
SUPPORTED_KEY_KINDS = ("uuid", "bigint", "integer", "smallint")


@dataclass(frozen=True)
class ColumnShape:
    """One column as the database declares it."""

    name: str
    type_sql: str  # e.g. "uuid", "bigint", "citext", "transaction_type", "numeric(12,2)"
    nullable: bool
    default: str | None
    generated: bool  # GENERATED ALWAYS AS (...) STORED: never written
    identity: bool
    enum_labels: tuple[str, ...] | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not None or self.identity or self.generated


@dataclass(frozen=True)
class UniqueIndex:
    """A unique index or constraint: plain columns, expressions, and a predicate if partial."""

    name: str | None
    columns: tuple[str, ...]
    expressions: tuple[str, ...] = ()
    predicate: str | None = None


@dataclass(frozen=True)
class CheckShape:
    name: str
    sql: str

    def columns(self, table_columns: Iterable[str]) -> list[str]:
        """The table's columns this check mentions (as identifiers, quoted or not)."""
        text = self.sql.lower()
        return [
            column
            for column in table_columns
            if re.search(rf'(?<![\w."]){re.escape(column.lower())}(?![\w"])', text)
            or f'"{column.lower()}"' in text
        ]


@dataclass(frozen=True)
class TableShape:
    """One CRM table as it exists."""

    name: str
    schema: str | None
    columns: Mapping[str, ColumnShape]
    primary_key: tuple[str, ...]
    unique: tuple[UniqueIndex, ...]
    checks: tuple[CheckShape, ...]
    indexes: tuple[str, ...] = field(default=())

    @property
    def key(self) -> ColumnShape | None:
        return self.columns[self.primary_key[0]] if len(self.primary_key) == 1 else None

    @property
    def key_kind(self) -> str:
        """`uuid`, `bigint`, `integer`, ... : what the key is, as the database says."""
        key = self.key
        if key is None:
            return f"composite key ({', '.join(self.primary_key) or 'none'})"
        return _KEY_KINDS.get(key.type_sql.split("(")[0], key.type_sql)

    @property
    def key_generation(self) -> str | None:
        """How the database makes a new row's key, or None when it does not."""
        key = self.key
        if key is None:
            return None
        if key.identity:
            return "identity"
        if "nextval(" in (key.default or "").lower():
            return "sequence (serial)"
        if key.default:
            return f"default {key.default}"
        if self.key_kind == "integer" and self.schema is None:
            return "rowid"  # SQLite's INTEGER PRIMARY KEY
        return None

    def has_unique_on(self, columns: Iterable[str], *, allowed_predicates=()) -> bool:
        """A unique index on exactly these columns, full or with an allowed predicate."""
        wanted = tuple(columns)
        normalized = {_normalize_sql(p) for p in allowed_predicates}
        return any(
            index.columns == wanted
            and not index.expressions
            and (index.predicate is None or _normalize_sql(index.predicate) in normalized)
            for index in self.unique
        )

    def is_citext(self, column: str) -> bool:
        return column in self.columns and self.columns[column].type_sql == "citext"


_KEY_KINDS = {
    "uuid": "uuid",
    "bigint": "bigint",
    "integer": "integer",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "smallint": "smallint",
    "biginteger": "bigint",
}


def _normalize_sql(text: str) -> str:
    """A predicate as comparable text: no parentheses, case or repeated spaces."""
    return re.sub(r"\s+", " ", re.sub(r"[()]", "", text)).strip().lower()


# Predicates under which a partial unique index still covers every row the pipeline writes
# (its rows always carry an external id).
EXTERNAL_ID_PRESENT = ("external_transaction_id IS NOT NULL",)


@dataclass(frozen=True)
class CrmShape:
    """The CRM tables as this database has them (None where a table does not exist)."""

    dialect: str
    tables: Mapping[str, TableShape | None]

    def table(self, name: str) -> TableShape:
        shape = self.tables.get(name)
        if shape is None:
            raise LookupError(f"the CRM has no {name} table")
        return shape

    def has(self, name: str) -> bool:
        return self.tables.get(name) is not None

    def key_type(self, table_name: str) -> sa.types.TypeEngine:
        """The SQL type a column referencing `table_name`'s key must have."""
        shape = self.tables.get(table_name)
        if shape is None or shape.key is None:
            return _TypedByTheDatabase("INTEGER" if self.dialect == "sqlite" else "BIGINT")
        return _TypedByTheDatabase(shape.key.type_sql.upper())


def reflected_table(connection: sa.Connection, name: str) -> sa.Table:
    """A CRM table as SQLAlchemy reflects it, for statements that must carry its own types
    (enum, uuid, date) end to end; keys come back as text like everywhere else."""
    schema = schema_layout(connection).crm_schema(connection.dialect.name)
    table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=connection)
    for column in table.columns:
        if isinstance(column.type, sa.Uuid):
            column.type = sa.Uuid(as_uuid=False)
    return table


_shapes: weakref.WeakKeyDictionary[sa.Connection, CrmShape] = weakref.WeakKeyDictionary()


def crm_shape(connection: sa.Connection, *, refresh: bool = False) -> CrmShape:
    """The CRM's shape, read once per connection (a step's transaction) and kept for it."""
    if refresh or connection not in _shapes:
        _shapes[connection] = read_crm(connection)
    return _shapes[connection]


def read_crm(connection: sa.Connection) -> CrmShape:
    inspector = sa.inspect(connection)
    schema = schema_layout(connection).crm_schema(connection.dialect.name)
    present = set(inspector.get_table_names(schema=schema))
    tables = {
        name: _read_table(connection, inspector, name, schema) if name in present else None
        for name in (*CRM_TABLE_NAMES, "subscriptions")
    }
    return CrmShape(dialect=connection.dialect.name, tables=tables)


def _read_table(
    connection: sa.Connection, inspector: sa.Inspector, name: str, schema: str | None
) -> TableShape:
    with warnings.catch_warnings():
        # SQLite's reflection skips expression indexes (with a warning); their names are
        # read from its catalog instead (`_index_names`).
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        return _reflect_table(connection, inspector, name, schema)


def _reflect_table(
    connection: sa.Connection, inspector: sa.Inspector, name: str, schema: str | None
) -> TableShape:
    types = _declared_types(connection, name, schema)
    columns = {}
    for column in inspector.get_columns(name, schema=schema):
        reflected = column["type"]
        columns[column["name"]] = ColumnShape(
            name=column["name"],
            type_sql=types.get(column["name"]) or _type_sql(reflected, connection.dialect),
            nullable=bool(column["nullable"]),
            default=column.get("default"),
            generated=column.get("computed") is not None,
            identity=column.get("identity") is not None,
            enum_labels=tuple(reflected.enums) if isinstance(reflected, sa.Enum) else None,
        )
    return TableShape(
        name=name,
        schema=schema,
        columns=columns,
        primary_key=tuple(
            inspector.get_pk_constraint(name, schema=schema).get("constrained_columns") or ()
        ),
        unique=_unique_indexes(inspector, name, schema),
        checks=tuple(
            CheckShape(name=check.get("name") or f"{name}_check", sql=check["sqltext"])
            for check in inspector.get_check_constraints(name, schema=schema)
        ),
        indexes=_index_names(connection, inspector, name, schema),
    )


def _index_names(
    connection: sa.Connection, inspector: sa.Inspector, name: str, schema: str | None
) -> tuple[str, ...]:
    if connection.dialect.name == "sqlite":
        query = sa.text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t")
        return tuple(connection.execute(query, {"t": name}).scalars())
    return tuple(i["name"] for i in inspector.get_indexes(name, schema=schema) if i["name"])


def _declared_types(connection: sa.Connection, name: str, schema: str | None) -> dict[str, str]:
    """PostgreSQL's own spelling of each column's type (format_type), e.g. `citext`, `uuid`."""
    if connection.dialect.name != "postgresql":
        return {}
    rows = connection.execute(
        sa.text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = :name AND n.nspname = :schema AND a.attnum > 0 "
            "AND NOT a.attisdropped"
        ),
        {"name": name, "schema": schema},
    ).all()
    return {row[0]: row[1].split(".")[-1].strip('"') for row in rows}


def _type_sql(reflected: sa.types.TypeEngine, dialect: sa.Dialect) -> str:
    try:
        return reflected.compile(dialect=dialect).lower()
    except sa.exc.CompileError:
        return type(reflected).__name__.lower()


def _unique_indexes(
    inspector: sa.Inspector, name: str, schema: str | None
) -> tuple[UniqueIndex, ...]:
    found = [
        UniqueIndex(name=c.get("name"), columns=tuple(c["column_names"]))
        for c in inspector.get_unique_constraints(name, schema=schema)
    ]
    for index in inspector.get_indexes(name, schema=schema):
        if not index["unique"]:
            continue
        # An expression takes a None among the column names (and its text in `expressions`).
        on_expression = None in index["column_names"]
        options = index.get("dialect_options") or {}
        predicate = options.get("postgresql_where") or options.get("sqlite_where")
        found.append(
            UniqueIndex(
                name=index["name"],
                columns=tuple(c for c in index["column_names"] if c is not None),
                expressions=tuple(index.get("expressions") or ()) if on_expression else (),
                predicate=str(predicate) if predicate is not None else None,
            )
        )
    return tuple(found)


# -- matching ------------------------------------------------------------------------------


def email_matches(
    connection: sa.Connection, contacts: sa.Table, normalized: sa.ColumnElement
) -> sa.ColumnElement[bool]:
    """A contact's email equals an already normalized (trimmed, lower-case) email.

    A `citext` email is compared as the database compares it (case-insensitively, on its
    own unique index); any other type by its trimmed lower-case form.
    """
    shape = crm_shape(connection).table("contacts")
    if shape.is_citext("email"):
        return contacts.c.email == sa.cast(normalized, _TypedByTheDatabase("citext"))
    return sa.func.lower(sa.func.trim(contacts.c.email)) == normalized


# -- constraints as outcomes ---------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why the CRM would refuse rows: a CHECK constraint or an enum without the value."""

    rule: str
    reason: str


class CrmRefusesEveryRow(Exception):
    """A constraint refuses what the pipeline writes into every row (e.g. its source system)."""


def refused_rows(
    connection: sa.Connection,
    table_name: str,
    rows: pl.DataFrame | pl.LazyFrame,
    constants: Mapping[str, str],
) -> pl.DataFrame:
    """The rows of `rows` (table columns, text) that the CRM table's CHECKs or enums refuse.

    Returns `rows`' columns plus `rule` and `reason` for each refused row. Each CHECK is
    evaluated by the database itself, over the distinct values of the columns it mentions,
    so it costs a few hundred staged values however long the export. A CHECK that refuses
    the constants alone (the same for every row) raises `CrmRefusesEveryRow`, before
    anything is written. `rows` may be a scan: only distinct values and refused rows are
    ever collected.
    """
    shape = crm_shape(connection).table(table_name)
    _refuse_constants(connection, shape, constants)
    rows = rows.lazy()
    columns = rows.collect_schema().names()
    by_enums = _refused_by_enums(shape, rows, columns)
    found = [by_enums]
    if by_enums.height:
        # A value outside an enum cannot even be staged in the enum's type.
        outside = by_enums.select(columns).lazy()
        rows = rows.join(outside, on=columns, how="anti", nulls_equal=True)
    for check in shape.checks:
        mentioned = check.columns(shape.columns)
        variable = [c for c in mentioned if c in columns]
        if not variable:
            continue
        combos = rows.select(variable).unique().collect(engine="streaming")
        refused = _evaluate_check(connection, shape, check, combos, constants, mentioned)
        if refused.height:
            found.append(
                rows.join(refused.lazy(), on=variable, how="inner", nulls_equal=True)
                .with_columns(
                    rule=pl.lit(f"crm_check_{check.name}"),
                    reason=pl.lit(f"the CRM's {table_name} CHECK {check.name} refuses it"),
                )
                .collect()
            )
    return pl.concat(found, how="vertical_relaxed").select(*columns, "rule", "reason")


def _refused_by_enums(shape: TableShape, rows: pl.LazyFrame, columns: list[str]) -> pl.DataFrame:
    enums = {
        name: shape.columns[name]
        for name in columns
        if name in shape.columns and shape.columns[name].enum_labels is not None
    }
    outside = {
        name: pl.col(name).is_not_null() & ~pl.col(name).is_in(list(column.enum_labels))
        for name, column in enums.items()
    }
    # One pass over the rows finds every row with a value outside an enum.
    candidates = rows.filter(pl.any_horizontal(outside.values()) if outside else pl.lit(False))
    candidates = candidates.collect()
    parts = [candidates.head(0).with_columns(rule=pl.lit(""), reason=pl.lit(""))]
    for name, column in enums.items():
        refused = candidates.filter(outside[name])
        if refused.height:
            parts.append(
                refused.with_columns(
                    rule=pl.lit(f"crm_enum_{column.type_sql}"),
                    reason=pl.format(
                        "the CRM's {} type has no value '{}' for {}",
                        pl.lit(column.type_sql),
                        pl.col(name),
                        pl.lit(name),
                    ),
                )
            )
    return pl.concat(parts)


def _refuse_constants(
    connection: sa.Connection, shape: TableShape, constants: Mapping[str, str]
) -> None:
    probe = pl.DataFrame({name: [value] for name, value in constants.items()})
    for check in shape.checks:
        mentioned = check.columns(shape.columns)
        if not mentioned or not set(mentioned) <= set(constants):
            continue
        if _evaluate_check(connection, shape, check, probe.select(mentioned), {}, mentioned).height:
            values = ", ".join(f"{c} = '{constants[c]}'" for c in mentioned)
            raise CrmRefusesEveryRow(
                f"the CRM's {shape.name} CHECK {check.name} ({check.sql}) refuses {values}, "
                "which the pipeline writes into every row; nothing was written. Allow it in "
                "the constraint or ask for the pipeline's source system to be configured."
            )


def _evaluate_check(
    connection: sa.Connection,
    shape: TableShape,
    check: CheckShape,
    combos: pl.DataFrame,
    constants: Mapping[str, str],
    mentioned: list[str],
) -> pl.DataFrame:
    """The rows of `combos` for which the CHECK is false (NULL passes, as in SQL itself)."""
    from starhouse_pipeline.warehouse.staging import stage_check_values

    numbered = combos.with_row_index(_COMBO)
    values = numbered.select(
        _COMBO,
        *(
            (pl.col(c) if c in combos.columns else pl.lit(constants.get(c)))
            .cast(pl.String)
            .alias(c)
            for c in mentioned
        ),
    )
    staged = stage_check_values(connection, "stage_crm_check", shape, mentioned, values)
    outcome = sa.text(f"NOT COALESCE(({check.sql}), TRUE)")
    refused = connection.execute(sa.select(staged.c[_COMBO]).where(outcome)).scalars().all()
    staged.drop(connection)
    return numbered.filter(pl.col(_COMBO).is_in(refused)).drop(_COMBO)


_COMBO = "_combo"


def _column_or_constant(name: str, combos: pl.DataFrame, constants: Mapping[str, str]) -> pl.Expr:
    return pl.col(name) if name in combos.columns else pl.lit(constants.get(name))


# -- creating the pipeline's tables against this CRM ----------------------------------------

# A reference column of the pipeline's own tables names the CRM table whose key it holds.
_REFERENCED_TABLE = (
    ("contact", "contacts"),
    ("product", "products"),
    ("transaction", "transactions"),
)


def referenced_table(column: sa.Column) -> str | None:
    """Which CRM table's key a pipeline column holds: its foreign key's, else by its name."""
    for foreign_key in column.foreign_keys:
        return foreign_key.column.table.name
    return next((table for word, table in _REFERENCED_TABLE if word in column.name), None)


def with_crm_key_types(own_tables: Iterable[sa.Table], shape: CrmShape) -> list[sa.Table]:
    """Copies of the pipeline's tables whose references to CRM rows have the CRM's key type
    (uuid, bigint, integer), ready to be created; the CRM tables come along for the keys."""
    metadata = sa.MetaData(naming_convention=tables.metadata.naming_convention)
    for crm_table in tables.CRM_TABLES:
        crm_table.to_metadata(metadata)
    copies = []
    for table in own_tables:
        copy = table.to_metadata(metadata)
        for column in copy.columns:
            if isinstance(column.type, CrmKey) and not column.primary_key:
                referenced = referenced_table(column)
                if referenced is not None:
                    column.type = shape.key_type(referenced)
        copies.append(copy)
    return copies


def ddl_type(column: sa.Column, shape: CrmShape) -> sa.types.TypeEngine:
    """The type to create `column` with in this database: a CRM key reference takes the
    referenced table's key type, anything else the contract's type."""
    if isinstance(column.type, CrmKey):
        referenced = referenced_table(column)
        if referenced is not None:
            return shape.key_type(referenced)
    return column.type


# -- what an upgrade needs, and what it refuses -----------------------------------------------

# Columns without which a CRM table cannot be used; the contract's other columns are added.
REQUIRED_COLUMNS = {
    "contacts": ("email",),
    "products": ("name",),
    "transactions": ("source_system", "transaction_type", "status", "amount"),
}
# Columns the pipeline writes when it creates a row; a NOT NULL column outside these needs
# a default, or no row could be created.
WRITTEN_ON_CREATE = {
    "contacts": (
        "email",
        "first_name",
        "last_name",
        *ENRICHABLE_FIELDS,
        *ENRICHMENT_PROVENANCE,
        "source_system",
        "created_by_run_id",
        "created_at",
        "updated_at",
    ),
    "products": ("name", "kajabi_offer_id", "created_at", "updated_at"),
    "transactions": (*TRANSACTION_RECORD_COLUMNS, "import_run_id", "created_at"),
}
# What the pipeline writes into every row of a table: a CHECK refusing it refuses the upgrade.
CONSTANTS = {"transactions": {"source_system": "kajabi"}, "contacts": {"source_system": "kajabi"}}


@dataclass(frozen=True)
class NeededUnique:
    name: str
    keys: tuple[sa.ColumnElement, ...]
    described: str


def needed_unique_keys(table_name: str, shape: TableShape) -> list[NeededUnique]:
    """The uniqueness the pipeline relies on that this table lacks (and no equivalent gives).

    - contacts: one contact per email, compared as the CRM compares (a unique `citext`
      email is equivalent; otherwise a unique index on lower(trim(email))).
    - products: one product per Kajabi Offer ID.
    - transactions: one row per (source_system, external_transaction_id); a partial unique
      index `WHERE external_transaction_id IS NOT NULL` covers every row the pipeline writes.
    """
    needed = []
    if table_name == "contacts":
        citext_unique = shape.is_citext("email") and shape.has_unique_on(["email"])
        if not citext_unique and "uq_contacts_email_normalized" not in shape.indexes:
            needed.append(
                NeededUnique(
                    "uq_contacts_email_normalized",
                    (tables.CONTACT_EMAIL_KEY,),
                    "lower(trim(email))",
                )
            )
    elif table_name == "products":
        if not shape.has_unique_on(["kajabi_offer_id"]):
            needed.append(
                NeededUnique(
                    "uq_products_kajabi_offer_id",
                    (tables.products.c.kajabi_offer_id,),
                    "kajabi_offer_id",
                )
            )
    elif table_name == "transactions":
        keys = ("source_system", "external_transaction_id")
        if not shape.has_unique_on(keys, allowed_predicates=EXTERNAL_ID_PRESENT):
            needed.append(
                NeededUnique(
                    "uq_transactions_source_system_external_transaction_id",
                    tuple(tables.transactions.c[k] for k in keys),
                    ", ".join(keys),
                )
            )
    return needed


def _duplicate_groups(
    connection: sa.Connection, table: sa.Table, keys: tuple[sa.ColumnElement, ...]
) -> list[tuple[str, str, int]]:
    """Up to ten groups of existing rows sharing `keys`: (lowest id, highest id, rows).

    Ids are compared as text, so this works for uuid keys as for integer ones.
    """
    key_text = sa.cast(table.c.id, sa.Text)
    return [
        tuple(row)
        for row in connection.execute(
            sa.select(sa.func.min(key_text), sa.func.max(key_text), sa.func.count())
            .where(*(key.is_not(None) for key in keys))
            .group_by(*keys)
            .having(sa.func.count() > 1)
            .limit(10)
        ).all()
    ]


def refuse_duplicates(
    connection: sa.Connection, table: sa.Table, keys: tuple[sa.ColumnElement, ...]
) -> None:
    """Stop with the ids to merge when existing rows break a uniqueness the pipeline needs.

    Only ids are named: the duplicated values may be personal data (emails).
    """
    message = _duplicates_message(connection, table, keys)
    if message:
        raise RuntimeError(message)


def _duplicates_message(
    connection: sa.Connection, table: sa.Table, keys: tuple[sa.ColumnElement, ...]
) -> str | None:
    groups = _duplicate_groups(connection, table, keys)
    if not groups:
        return None
    examples = "; ".join(f"ids {low}..{high} ({n} rows)" for low, high, n in groups)
    described = ", ".join(str(key) for key in keys)
    return (
        f"{table.name} has rows sharing {described}, which the pipeline needs unique; "
        f"merge them first (for example {examples})"
    )


def upgrade_refusals(connection: sa.Connection, shape: CrmShape) -> list[str]:
    """Every reason this CRM cannot take the upgrade as it is (empty when it can)."""
    reasons = []
    for table in tables.CRM_TABLES:
        existing = shape.tables.get(table.name)
        if existing is None:
            continue
        reasons += _table_refusals(existing)
        if any(c not in existing.columns for c in REQUIRED_COLUMNS[table.name]):
            continue
        for needed in needed_unique_keys(table.name, existing):
            message = _duplicates_message(connection, table, needed.keys)
            if message:
                reasons.append(message)
        try:
            _refuse_constants(connection, existing, _present(CONSTANTS.get(table.name), existing))
        except CrmRefusesEveryRow as refused:
            reasons.append(str(refused))
    return reasons


def _present(constants: Mapping[str, str] | None, shape: TableShape) -> dict[str, str]:
    return {k: v for k, v in (constants or {}).items() if k in shape.columns}


def _table_refusals(shape: TableShape) -> list[str]:
    reasons = []
    missing = [c for c in REQUIRED_COLUMNS[shape.name] if c not in shape.columns]
    if missing:
        reasons.append(f"{shape.name} has no {', '.join(missing)} column, which the pipeline needs")
    if shape.key is None:
        reasons.append(f"{shape.name} has a {shape.key_kind}; the pipeline needs a single key")
    elif shape.key_kind not in SUPPORTED_KEY_KINDS:
        reasons.append(
            f"{shape.name}.{shape.primary_key[0]} is of type {shape.key.type_sql}; supported "
            f"key types are {', '.join(SUPPORTED_KEY_KINDS)}"
        )
    elif shape.key_generation is None and shape.name != "transactions":
        reasons.append(
            f"{shape.name}.{shape.primary_key[0]} has no default or identity, so the database "
            "cannot give the rows the pipeline creates a key"
        )
    written = set(WRITTEN_ON_CREATE[shape.name])
    for column in shape.columns.values():
        required = not column.nullable and not column.has_default
        if required and column.name not in written and column.name not in shape.primary_key:
            reasons.append(
                f"{shape.name}.{column.name} is NOT NULL without a default, and the pipeline "
                "has no value for it: give it a default or allow NULL"
            )
    return reasons
