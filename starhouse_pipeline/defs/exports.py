"""What the Kajabi export imports beside the transactions share in the Dagster layer.

The Subscriptions and People imports (`defs/subscriptions.py`, `defs/people.py`) are one
group in the UI, and read their file the same way: a file that is not that export fails the
run with the file's name and the problem, before anything is written.
"""

import dagster as dg

from starhouse_pipeline.domain.export_contract import ExportContractError

EXPORTS_GROUP = "kajabi_exports"


def summary_line(text: str) -> dict:
    """The one line a person reads first (also what the `starhouse` commands print)."""
    return {"summary": dg.MetadataValue.text(text)}


def read_or_fail(read, path: str):
    try:
        return read(path)
    except ExportContractError as error:
        raise dg.Failure(description=str(error)) from error
