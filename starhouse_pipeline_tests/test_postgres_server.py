"""The suite's PostgreSQL: a throwaway server when none answers at the configured URL."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from starhouse_pipeline.settings import PROJECT_ROOT
from starhouse_pipeline_tests import postgres_server

pytestmark = pytest.mark.postgres


def _bindir() -> Path:
    bindir = postgres_server.find_binaries()
    if bindir is None:
        pytest.fail(postgres_server.MISSING_BINARIES.format(address="(not asked)"))
    return bindir


def test_a_throwaway_server_has_the_extensions_and_is_gone_afterwards():
    with postgres_server.throwaway_server(_bindir()) as url:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            data_directory = Path(connection.execute(sa.text("SHOW data_directory")).scalar())
            listening = connection.execute(sa.text("SHOW listen_addresses")).scalar()
            for extension in postgres_server.EXTENSIONS:
                connection.execute(sa.text(f'CREATE EXTENSION "{extension}"'))
            same = connection.execute(sa.text("SELECT 'A@X.ORG'::citext = 'a@x.org'")).scalar()
            key = connection.execute(sa.text("SELECT uuid_generate_v4()")).scalar()
        engine.dispose()
        assert postgres_server.answers(url)

    assert listening == "127.0.0.1"
    assert same is True
    assert key is not None
    assert not postgres_server.answers(url)
    assert not data_directory.exists()


def test_postgres_database_is_a_database_of_its_own(postgres_database, postgres_admin_url):
    engine = sa.create_engine(postgres_database)
    with engine.connect() as connection:
        name = connection.execute(sa.text("SELECT current_database()")).scalar()
    engine.dispose()
    assert name.startswith("starhouse_test_")
    assert sa.make_url(postgres_admin_url).database != name


def test_the_suite_gets_a_server_when_none_answers_at_the_configured_url():
    unused = postgres_server.free_port()
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{unused}/postgres"
    assert not postgres_server.answers(nowhere)

    session = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"{__file__}::test_postgres_database_is_a_database_of_its_own",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, postgres_server.URL_ENV: nowhere},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = session.stdout + session.stderr
    assert session.returncode == 0, output
    assert "1 passed" in output
    used = re.search(
        rf"PostgreSQL: nothing answered at 127\.0\.0\.1:{unused}; a throwaway server from "
        r"\S+ on 127\.0\.0\.1:(\d+)",
        output,
    )
    assert used, output
    assert int(used[1]) != unused
    assert not postgres_server.answers(f"postgresql://postgres@127.0.0.1:{used[1]}/postgres")
