"""Kajabi transactions exports into the StarHouse CRM database, as Dagster assets."""
