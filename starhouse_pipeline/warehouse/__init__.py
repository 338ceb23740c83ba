"""The one place that owns SQL: tables, migrations, and the bulk read and write paths."""
