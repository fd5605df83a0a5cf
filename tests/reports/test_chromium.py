"""The HTML report in a real browser: headless Chromium loads it offline with no console message,
every chart is in the DOM, and the first screen is saved to runs/report-screenshot.png."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "runs" / "report-screenshot.png"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
         "--no-first-run", "--disable-extensions", "--enable-logging=stderr", "--v=0"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason=f"{CHROMIUM} is absent (Debian package 'chromium'; .ci/run installs it)")


def chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={cwd / 'profile'}", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


class Charts(HTMLParser):
    """Figures with ``data-chart`` and whether each holds an inline <svg> with drawing inside."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, int] = {}
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "figure" and "data-chart" in attributes:
            self._open = attributes["data-chart"]
            self.charts[self._open] = 0
        elif self._open and tag in ("path", "use"):
            self.charts[self._open] += 1

    def handle_endtag(self, tag):
        if tag == "figure":
            self._open = None


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.parametrize("fixture", ["sales", "synthetic"])
def test_the_report_loads_without_console_messages_and_shows_every_chart(request, tmp_path, fixture):
    rendered = request.getfixturevalue(fixture)
    html = (rendered.out_dir if fixture == "sales" else rendered.run_dir) / "report.html"
    result = chromium("--dump-dom", html.as_uri(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_messages(result.stderr) == []
    parser = Charts()
    parser.feed(result.stdout)
    expected = [Path(chart["file"]).stem.removeprefix("report-")
                for chart in json.loads(html.with_name("report.json").read_text())["charts"]]
    assert sorted(parser.charts) == sorted(expected) and len(expected) >= 3
    assert all(count > 20 for count in parser.charts.values()), parser.charts


def test_the_console_check_sees_a_blocked_external_asset(tmp_path):
    """Guard: the report's Content-Security-Policy turns any external load into a console message."""
    page = tmp_path / "page.html"
    page.write_text('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
                    'content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:"></head>'
                    '<body><img src="https://example.invalid/logo.png"></body></html>')
    result = chromium("--dump-dom", page.as_uri(), cwd=tmp_path)
    assert any("Content Security Policy" in line for line in console_messages(result.stderr))


def test_the_report_references_no_external_asset(sales):
    html = (sales.out_dir / "report.html").read_text()
    references = re.findall(r'\b(?:src|href)="([^"]*)"', html) + re.findall(r"url\(([^)]*)\)", html)
    assert [r for r in references if not r.startswith(("#", "data:"))] == []
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert "@media print" in html


def test_first_screen_screenshot(sales, tmp_path):
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    result = chromium(f"--screenshot={SCREENSHOT}", "--window-size=1280,900",
                      (sales.out_dir / "report.html").as_uri(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    data = SCREENSHOT.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 900) and len(data) > 50_000
