"""The Dagster UI as a person uses it, driven through Playwright in Debian's Chromium.

The browser tests and `scripts/screenshots.py` share these steps, so the README's pictures
come from the same flow the tests assert on. Selectors are visible text, roles, titles and
URLs, never Dagster's generated CSS classes.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, Playwright, expect

from starhouse_pipeline.settings import SAMPLE_EXPORT
from starhouse_pipeline_tests.support import IMPORT_CHAIN

# The launchpad config that imports the bundled sample into the test's own warehouse (not
# the embedded demo one, so the run must allow the sample explicitly).
SAMPLE_LAUNCHPAD_YAML = f"""ops:
  raw_kajabi_csv:
    config:
      path: {SAMPLE_EXPORT}
resources:
  import_options:
    config:
      allow_sample_in_this_warehouse: true
"""

CHROMIUM = Path("/usr/bin/chromium")
# Headless, no sandbox (CI runs as root), and no call home: this machine's network is closed.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
]
VIEWPORT = {"width": 1600, "height": 1000}

RUN_DONE = re.compile(r"^(Success|Failure|Canceled)$")
# The dialog's title; "launchpad" also appears in config docs the dialog may be showing.
LAUNCHPAD_TITLE = re.compile(r"^Launchpad")

LOAD_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 180_000
SENSOR_TIMEOUT_MS = 120_000
# The UI is a React app over a server on a busy two-core machine: wait like a patient person.
expect.set_options(timeout=LOAD_TIMEOUT_MS)


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, never a browser Playwright downloaded."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium)"
        )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def skip_community_prompt(base_url: str) -> None:
    """Answer the first-visit "Join the Dagster community" prompt, as Skip would."""
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": "mutation { setNuxSeen }"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


class DagsterUI:
    """One browser page on a running `dagster dev`, saving a screenshot per step."""

    def __init__(self, page: Page, base_url: str, shots: Path | None = None) -> None:
        self.page = page
        self.base_url = base_url
        self.shots = shots
        self._step = 0
        page.set_default_timeout(LOAD_TIMEOUT_MS)
        page.set_default_navigation_timeout(LOAD_TIMEOUT_MS)
        # Should the prompt come back anyway, it must not stand between a test and a click.
        page.add_locator_handler(
            page.get_by_text("Join the Dagster community"),
            lambda: page.get_by_role("button", name="Skip").click(),
        )

    def screenshot(self, name: str, *, full_page: bool = False) -> Path | None:
        if self.shots is None:
            return None
        self.shots.mkdir(parents=True, exist_ok=True)
        self._step += 1
        path = self.shots / f"{self._step:02d}-{name}.png"
        self.page.screenshot(path=path, full_page=full_page)
        return path

    def link(self, text: str) -> Locator:
        """A link by its text; its accessible name also holds the names of its icons."""
        return self.page.get_by_role("link", name=re.compile(rf"(^|\s){re.escape(text)}(\s|$)"))

    def button(self, text: str) -> Locator:
        """A button by its text; its accessible name also holds the names of its icons."""
        return self.page.get_by_role("button", name=re.compile(rf"(^|\s){re.escape(text)}(\s|$)"))

    def open(self, path: str) -> None:
        self.page.goto(f"{self.base_url}{path}", wait_until="networkidle")

    # The asset graph and its lineage.

    def open_import_group(self) -> None:
        """The `kajabi_import` group of the code location: its lineage graph."""
        self.open(f"{self.code_location()}/asset-groups/kajabi_import")
        expect(self.page.get_by_role("button", name="Materialize all")).to_be_visible()
        self.page.wait_for_load_state("networkidle")
        missing = _eventually(lambda: [n for n in IMPORT_CHAIN if not self.graph_shows(n)])
        assert not missing, f"the asset graph does not show {missing}"

    def code_location(self) -> str:
        """The code location's path, as the first asset's page links to it."""
        self.open(f"/assets/{IMPORT_CHAIN[0]}")
        link = self.page.locator("a[href^='/locations/']").first
        expect(link).to_be_visible()
        return "/".join((link.get_attribute("href") or "").split("/")[:3])

    def graph_shows(self, asset: str) -> bool:
        """Whether a node of the graph names the asset; zoomed out, names are cut in the middle
        (`vali…_transactions`)."""
        for text in self.page.locator("svg foreignObject > div").all_inner_texts():
            label = text.strip().split("\n", 1)[0]
            head, cut, tail = label.partition("…")
            if label == asset or (cut and asset.startswith(head) and asset.endswith(tail)):
                return True
        return False

    def upstream_of(self, asset: str, expected: Iterable[str]) -> set[str]:
        """The asset's page lists its upstream assets as links; wait until they are shown."""
        self.open(f"/assets/{asset}")
        heading = self.page.get_by_text("Upstream assets", exact=True)
        links = heading.locator("xpath=following-sibling::*[1]").locator("a[href^='/assets/']")
        expect(links).to_have_count(len(set(expected)))
        return {href.removeprefix("/assets/") for href in _hrefs(links)}

    # Runs.

    def open_import_job(self) -> None:
        """Jobs -> import_job."""
        self.open("/jobs")
        self.link("import_job").first.click()
        expect(self.page.get_by_role("button", name="Materialize all")).to_be_visible()
        self.page.wait_for_load_state("networkidle")

    def materialize_with_config(self, config_yaml: str) -> str:
        """Shift-click "Materialize all" for the launchpad, replace its config, launch.

        The launchpad starts from the config's defaults (`ops:` holds the report's folder);
        the export's path has none, so the person types it in.
        """
        self.page.get_by_role("button", name="Materialize all").click(modifiers=["Shift"])
        launchpad = self.page.get_by_role("dialog")
        expect(launchpad.get_by_text(LAUNCHPAD_TITLE)).to_be_visible()
        launchpad.get_by_text("ops:", exact=True).first.click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.insert_text(config_yaml)
        expect(launchpad.get_by_text("No errors")).to_be_visible()
        self.screenshot("launchpad")
        launchpad.get_by_role("button", name="Materialize").click()
        return self._run_id_from_url()

    def _run_id_from_url(self) -> str:
        self.page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"))
        return self.page.url.rsplit("/runs/", 1)[1].split("?")[0]

    def wait_for_run(self, run_id: str) -> str:
        """Stay on the run's page until its status tag says it is done; that status."""
        if f"/runs/{run_id}" not in self.page.url:
            self.open(f"/runs/{run_id}")
        status = self.page.get_by_text(RUN_DONE).first
        expect(status).to_be_visible(timeout=RUN_TIMEOUT_MS)
        self.page.wait_for_load_state("networkidle")
        return status.inner_text().strip()

    # Asset checks and the report.

    def open_checks(self, asset: str) -> None:
        self.open(f"/assets/{asset}?view=checks")
        expect(self.page.get_by_text(re.compile(r"^Checks \(\d+\)$"))).to_be_visible()

    def check_result(self, check: str) -> dict[str, str]:
        """Select a check on the open Checks tab: its evaluation result and metadata."""
        self.page.get_by_title(check, exact=True).first.click()
        self.page.wait_for_url(re.compile(f"checkDetail={re.escape(check)}"))
        expect(self.page.get_by_text(check, exact=True).filter(visible=True).first).to_be_visible()
        self.page.wait_for_load_state("networkidle")
        result = self.page.get_by_text("Evaluation result", exact=True)
        expect(result).to_be_visible()
        verdict = result.locator("xpath=following-sibling::*[1]").inner_text().strip()
        return {"result": verdict, **self.metadata_table()}

    def metadata_table(self) -> dict[str, str]:
        """The key/value rows under the "Metadata" heading of a check or asset."""
        heading = self.page.get_by_text("Metadata", exact=True).last
        table = heading.locator("xpath=following::table[1]")
        expect(table.locator("tr").first).to_be_visible()
        rows = {}
        for row in table.locator("tr").all():
            cells = [cell.strip() for cell in row.locator("td").all_inner_texts()]
            if len(cells) >= 2:
                rows[cells[0]] = cells[-1]
        return rows

    def open_report(self) -> Locator:
        """The import_report page, its Markdown report opened; the dialog showing it."""
        self.open("/assets/import_report")
        self.page.get_by_text("[Show Markdown]").first.click()
        dialog = self.page.get_by_role("dialog")
        expect(dialog.get_by_role("heading", name="Kajabi import report")).to_be_visible()
        dialog.get_by_role("heading", name="Kajabi import report").scroll_into_view_if_needed()
        return dialog

    # Automation.

    def open_automation(self) -> None:
        self.open("/automation")
        for name in ("daily_import_schedule", "inbox_sensor"):
            expect(self.link(name)).to_be_visible()

    def open_sensor(self, name: str = "inbox_sensor") -> None:
        """Automation -> the sensor's page."""
        self.open_automation()
        self.link(name).click()
        expect(self.page.get_by_text("Running", exact=True)).to_be_visible()

    def sensor_switch(self) -> Locator:
        return self.page.get_by_role("checkbox")

    def turn_sensor_on(self) -> None:
        switch = self.sensor_switch()
        if not switch.is_checked():
            # The switch's input is drawn by its label; a person clicks what they see.
            switch.locator("xpath=..").click()
        expect(switch).to_be_checked()

    def sensor_run(self, file_name: str) -> str:
        """The sensor's Runs tab: the id of the run it started for `file_name`."""
        self.button("Runs").first.click()
        tag = self.page.get_by_text(f"export_file: {file_name}", exact=True)
        expect(tag).to_be_visible(timeout=SENSOR_TIMEOUT_MS)
        # The tab lists the sensor's runs newest first, each linking to its page.
        run = self.page.locator("a[href^='/runs/']").first
        return (run.get_attribute("href") or "").removeprefix("/runs/").split("?")[0]


def _eventually(probe: Callable[[], list[str]], timeout_s: float = 60.0) -> list[str]:
    """Ask `probe` until it returns nothing or time is up; its last answer."""
    deadline = time.monotonic() + timeout_s
    while (answer := probe()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return answer


def _hrefs(links: Locator) -> list[str]:
    return [link.get_attribute("href") or "" for link in links.all()]
