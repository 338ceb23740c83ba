"""The pipeline's own tables as each revision created them, for the migrations that move or
create them together (their definitions live with the import or metric they belong to)."""

from starhouse_pipeline.warehouse import analytics_tables, people_tables, subscription_tables

# What revision 0002 added: the Subscriptions import's table, the People import's conflict
# log and the metric tables.
TABLES_OF_0002 = (
    subscription_tables.subscriptions,
    people_tables.contact_conflicts,
    *analytics_tables.METRIC_TABLES,
)
