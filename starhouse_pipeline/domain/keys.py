"""Keys of CRM rows as the pipeline's frames hold them.

The CRM decides its key type (uuid on the operator's database, bigint identity or serial
elsewhere); frames hold every key of a contact, product or transaction as text, so the
same rules and joins work whichever it is, and nothing does arithmetic on a key.
"""

import polars as pl

CRM_KEY = pl.String
