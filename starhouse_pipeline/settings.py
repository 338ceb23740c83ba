"""Project-wide locations and names, in one place."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
SAMPLES_DIR = DATA_DIR / "samples"
INBOX_DIR = DATA_DIR / "inbox"
REPORTS_DIR = DATA_DIR / "reports"
DASHBOARD_FILE = DATA_DIR / "dashboard" / "revenue_dashboard.html"
EMBEDDED_WAREHOUSE_DIR = PROJECT_ROOT / ".warehouse"
DEFAULT_DAGSTER_HOME = PROJECT_ROOT / ".dagster_home"

SAMPLE_EXPORT = SAMPLES_DIR / "kajabi_transactions_sample.csv"
SAMPLE_SUBSCRIPTIONS_EXPORT = SAMPLES_DIR / "kajabi_subscriptions_sample.csv"
SAMPLE_PEOPLE_EXPORT = SAMPLES_DIR / "kajabi_people_sample.csv"
SAMPLE_PAYPAL_EXPORT = SAMPLES_DIR / "paypal_activity_sample.tsv"
SAMPLE_CRM_DIR = SAMPLES_DIR / "crm"

DATABASE_URL_ENV = "STARHOUSE_DATABASE_URL"
# PostgreSQL schemas: the operator's CRM tables, and the pipeline's own tables.
CRM_SCHEMA_ENV = "STARHOUSE_CRM_SCHEMA"
PIPELINE_SCHEMA_ENV = "STARHOUSE_PIPELINE_SCHEMA"
DEFAULT_CRM_SCHEMA = "public"
DEFAULT_PIPELINE_SCHEMA = "starhouse"
# The schema name the pipeline's tables are declared in; translated to the configured one.
PIPELINE_SCHEMA = "starhouse"
INBOX_DIR_ENV = "STARHOUSE_INBOX_DIR"
DASHBOARD_PATH_ENV = "STARHOUSE_DASHBOARD_PATH"
# Where import reports go (default REPORTS_DIR), read when a run starts.
REPORTS_DIR_ENV = "STARHOUSE_REPORTS_DIR"

SOURCE_SYSTEM = "kajabi"
ENRICHMENT_SOURCE = "kajabi_transaction"
BUSINESS_TIMEZONE = "America/Denver"
