"""Deterministic sample data: realistic Kajabi transactions exports and a matching CRM state."""
