"""The plan report as a browser shows it: headless Chromium (Debian's package) screenshots the page offline.

Skipped with the reason when Chromium is not installed (.ci/run installs it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from servestack.cli import main
from servestack.report.chart import COLOURS

pytest.importorskip("PIL", reason="Pillow (the dev extra) reads the screenshot")
from PIL import Image, ImageStat  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
WINDOW = (1200, 1600)


def screenshot(page: Path, tmp_path: Path) -> Image.Image:
    png = tmp_path / "shot.png"
    assert CHROMIUM is not None
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
         page.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    return Image.open(png).convert("RGB")


def pixels_near(image: Image.Image, hex_colour: str, tolerance: int = 12) -> int:
    """How many pixels are within `tolerance` of the colour on every channel."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    data = image.tobytes()
    return sum(
        1 for pr, pg, pb in zip(data[0::3], data[1::3], data[2::3], strict=True)
        if abs(pr - r) <= tolerance and abs(pg - g) <= tolerance and abs(pb - b) <= tolerance
    )


@pytest.fixture(scope="module")
def chat_shot(tmp_path_factory: pytest.TempPathFactory) -> Image.Image:
    tmp = tmp_path_factory.mktemp("shot")
    page = tmp / "chat.html"
    assert main(["plan", str(ROOT / "examples" / "chat-70b.yaml"), "--env", "prod", "--report", str(page)]) == 0
    return screenshot(page, tmp)


def test_screenshot_is_not_blank(chat_shot: Image.Image) -> None:
    assert chat_shot.size == WINDOW
    variance = ImageStat.Stat(chat_shot.convert("L")).var[0]
    assert variance > 200, f"pixel variance {variance:.1f}: the page rendered (almost) blank"


def test_screenshot_shows_the_chart(chat_shot: Image.Image) -> None:
    # The chosen stack's marker (a filled disc of radius 9 in each of the two panels, ~250 pixels each) is the
    # only large area of its colour on the page; the legend's swatch alone is under 80 pixels.
    assert pixels_near(chat_shot, COLOURS["chosen"]) >= 300
    assert pixels_near(chat_shot, COLOURS["feasible"]) >= 200, "the feasible stacks are drawn"
    assert pixels_near(chat_shot, COLOURS["slo"]) >= 100, "the SLO lines are drawn"


def test_page_without_the_chart_fails_the_check(tmp_path: Path) -> None:
    """The chart check can fail: the same page with its panels removed has none of the chosen colour's area."""
    page = tmp_path / "no-chart.html"
    assert main(["plan", str(ROOT / "examples" / "chat-70b.yaml"), "--env", "prod", "--report", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    start, end = text.index('<div class="charts">'), text.index('<p class="note">')
    page.write_text(text[:start] + text[end:], encoding="utf-8")
    assert pixels_near(screenshot(page, tmp_path), COLOURS["chosen"]) < 300


@pytest.fixture(scope="module")
def mixed_shot(tmp_path_factory: pytest.TempPathFactory) -> Image.Image:
    tmp = tmp_path_factory.mktemp("mixed-shot")
    page = tmp / "mixed.html"
    assert main(["plan", str(ROOT / "examples" / "mixed-fleet-7b.yaml"), "--env", "prod", "--report", str(page)]) == 0
    return screenshot(page, tmp)


def test_mixed_fleet_screenshot_shows_the_fleet_and_the_alternative(mixed_shot: Image.Image) -> None:
    assert ImageStat.Stat(mixed_shot.convert("L")).var[0] > 200, "the page rendered (almost) blank"
    # The fleet's disc in each panel, plus its class diamonds; the single-accelerator stack's ring in each
    # panel (its legend swatch alone is under 40 pixels).
    assert pixels_near(mixed_shot, COLOURS["chosen"]) >= 300
    assert pixels_near(mixed_shot, COLOURS["alternative"]) >= 120, "the best single-accelerator stack is drawn"
    assert pixels_near(mixed_shot, COLOURS["slo"]) >= 100, "the SLO lines are drawn"


def test_mixed_page_without_the_chart_fails_the_check(tmp_path: Path) -> None:
    page = tmp_path / "no-chart.html"
    assert main(["plan", str(ROOT / "examples" / "mixed-fleet-7b.yaml"), "--env", "prod", "--report", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    start, end = text.index('<div class="charts">'), text.index('<p class="note">', text.index('<div class="charts">'))
    page.write_text(text[:start] + text[end:], encoding="utf-8")
    shot = screenshot(page, tmp_path)
    assert pixels_near(shot, COLOURS["alternative"]) < 120
