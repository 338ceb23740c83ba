"""Fixtures for the browser tests: one `dagster dev` and one Chromium for the module.

Screenshots of every step go to test-artifacts/browser/<test>/ (git-ignored), with the
page as it was when the test ended and the `dagster dev` log, so a failure can be seen.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from starhouse_pipeline.settings import PROJECT_ROOT, SAMPLE_CRM_DIR, SAMPLE_EXPORT
from starhouse_pipeline_tests.browser.server import DagsterDev, running_dagster_dev
from starhouse_pipeline_tests.browser.ui import (
    VIEWPORT,
    DagsterUI,
    launch_chromium,
    skip_community_prompt,
)

ARTIFACTS_DIR = PROJECT_ROOT / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    """`dagster dev` on a free port over a fresh warehouse holding the sample CRM state."""
    for needed in (SAMPLE_EXPORT, SAMPLE_CRM_DIR):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: the bundled sample is part of the project")
    root = tmp_path_factory.mktemp("dagster_dev")
    try:
        with running_dagster_dev(root, SAMPLE_CRM_DIR) as dev:
            skip_community_prompt(dev.url)
            yield dev
    finally:
        log = root / "dagster-dev.log"
        if log.exists():
            ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
            shutil.copy(log, ARTIFACTS_DIR / "dagster-dev.log")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def ui(
    browser: Browser, dagster_dev: DagsterDev, request: pytest.FixtureRequest
) -> Iterator[DagsterUI]:
    shots = ARTIFACTS_DIR / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(shots, ignore_errors=True)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    dagster_ui = DagsterUI(page, dagster_dev.url, shots)
    try:
        yield dagster_ui
    finally:
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=shots / "last.png")
        context.close()


@pytest.fixture
def inbox(dagster_dev: DagsterDev) -> Path:
    return dagster_dev.inbox
