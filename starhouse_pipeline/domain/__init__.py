"""Business rules as plain functions over polars frames: no Dagster, no SQL."""
