"""End to end in real headless Chromium: start the app, upload a photo, read the grade.

Uses Debian's /usr/bin/chromium through Playwright's own driver (no browser download). The
screenshots are saved under the test's tmp_path; look at them when changing the layout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="/usr/bin/chromium is not installed (make system-deps installs it)"),
]

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from analyzer.ui.harness import running_app

    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with running_app(log_path=log, timeout=120) as url:
        yield url


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from analyzer.ui.harness import launch_browser

    with sync_api.sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


def _page(browser, url: str):  # type: ignore[no-untyped-def]
    # A tall viewport: Streamlit scrolls inside its own container, so full_page alone would
    # capture only the first screen.
    page = browser.new_page(viewport={"width": 1440, "height": 2200})
    page.goto(url)
    page.locator('[data-testid="stFileUploader"]').wait_for(timeout=120_000)
    return page


def test_upload_a_photo_and_read_the_grade(app_url: str, browser, tmp_path: Path,  # type: ignore[no-untyped-def]
                                           studio_photos: list[Path]) -> None:
    from analyzer.ui.harness import settle, upload_and_wait_grade

    page = _page(browser, app_url)
    page.screenshot(path=str(tmp_path / "01-empty.png"), full_page=True)
    photo = studio_photos[0]
    grade = upload_and_wait_grade(page, [photo], timeout_ms=240_000)
    assert grade in {"A", "B", "C", "D", "F"}
    score = page.locator('[data-testid="ll-score"]').first.inner_text()
    assert "/ 100 overall" in score
    settle(page)  # the script has finished and the Plotly charts have drawn
    page.screenshot(path=str(tmp_path / "02-report-card.png"), full_page=True)
    # the file name is shown as text, and the check headlines are there
    assert page.get_by_text(photo.name).first.is_visible()
    assert page.get_by_text("Check by check").is_visible()
    # the audit tab lists the photo
    page.get_by_role("tab", name="Store audit").click()
    settle(page)
    page.screenshot(path=str(tmp_path / "03-audit.png"), full_page=True)
    assert page.get_by_text("Ready to list (A/B)").is_visible()
    _keep(tmp_path)


def test_bad_file_shows_a_message_in_the_browser(app_url: str, browser, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                 studio_photos: list[Path]) -> None:
    from analyzer.ui.harness import settle, upload_and_wait_grade

    bad = tmp_path / "not-a-photo.jpg"
    bad.write_text("plain text pretending to be a JPEG")
    page = _page(browser, app_url)
    grade = upload_and_wait_grade(page, [bad, studio_photos[1]], timeout_ms=240_000)
    assert grade in {"A", "B", "C", "D", "F"}
    alert = page.locator('[data-testid="stAlertContentError"]').first
    alert.wait_for(timeout=30_000)
    assert "not-a-photo.jpg" in alert.inner_text() and "NOT_AN_IMAGE" in alert.inner_text()
    settle(page)
    page.screenshot(path=str(tmp_path / "04-bad-file.png"), full_page=True)
    _keep(tmp_path)


def _keep(tmp_path: Path) -> None:
    """Copy screenshots to $LISTING_LENS_SCREENS (if set) for a human to look at."""
    import os

    dest = os.environ.get("LISTING_LENS_SCREENS")
    if dest:
        Path(dest).mkdir(parents=True, exist_ok=True)
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, Path(dest) / png.name)


def test_every_upload_bad_shows_messages_and_an_audit_table(app_url: str, browser,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
    """No photo can be read: one message per file, a plain note on the tabs, and the store
    audit still lists each file with its error (it used to crash with KeyError 'overall')."""
    from analyzer.ui.harness import settle

    files = [tmp_path / "page.jpg", tmp_path / "empty.png", tmp_path / "bomb.png"]
    files[0].write_text("<html><body>a product page, not a photo</body></html>")
    files[1].write_bytes(b"")
    files[2].write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    page = _page(browser, app_url)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        [str(f) for f in files])
    page.get_by_text("None of the uploaded files could be analysed").first.wait_for(
        timeout=120_000)
    settle(page)
    alerts = page.locator('[data-testid="stAlertContentError"]')
    assert alerts.count() == 3
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / "05-all-bad.png"), full_page=True)
    page.get_by_role("tab", name="Store audit").click()
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / "06-all-bad-audit.png"), full_page=True)
    _keep(tmp_path)


def test_two_photos_with_the_same_name_are_told_apart(app_url: str, browser,  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    import sys

    from analyzer.ui.harness import settle, upload_and_wait_grade

    sys.path.insert(0, str(Path(__file__).parent))
    from corpus import product_photo

    paths = []
    for k in (1, 2):
        d = tmp_path / f"folder{k}"
        d.mkdir()
        p = d / "004.jpg"
        product_photo((900, 900), seed=k).save(p, "JPEG", quality=92)
        paths.append(p)
    page = _page(browser, app_url)
    upload_and_wait_grade(page, paths, timeout_ms=240_000)
    settle(page)
    # The photo picker lists both, told apart ("B · 004.jpg" and "B · 004.jpg (2)").
    page.get_by_role("combobox", name="Photo").click()
    option = page.get_by_role("option").filter(has_text="004.jpg (2)")
    option.first.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "07-same-names.png"), full_page=True)
    _keep(tmp_path)
    assert page.get_by_role("option").count() == 2


def test_fix_it_and_fix_all_in_the_browser(app_url: str, browser,  # type: ignore[no-untyped-def]
                                           tmp_path: Path) -> None:
    """A product on a grey backdrop: Fix it on the card shows the re-graded copy; Fix all on
    the store audit tab shows each photo's grade before and after and offers the zip."""
    import sys

    from PIL import Image

    from analyzer.ui.harness import settle, upload_and_wait_grade

    sys.path.insert(0, str(Path(__file__).parent))
    from fix_helpers import textured_blob

    paths = []
    for k, grey in enumerate((196, 214)):
        rgb, _ = textured_blob(size=(900, 1200), center=(450, 600), axes=(260, 200),
                               backdrop=(grey, grey - 2, grey - 8), seed=k)
        p = tmp_path / f"grey-{k}.jpg"
        Image.fromarray(rgb).save(p, "JPEG", quality=92)
        paths.append(p)
    page = _page(browser, app_url)
    upload_and_wait_grade(page, paths, timeout_ms=240_000)
    settle(page)
    page.get_by_role("button", name="Fix it").first.click()
    page.get_by_text("Re-graded:").first.wait_for(timeout=180_000)
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_role("button", name="Download fixed photo").first.is_visible()
    page.screenshot(path=str(tmp_path / "08-fix-it.png"), full_page=True)
    page.get_by_role("tab", name="Store audit").click()
    settle(page)
    page.get_by_role("button", name="Fix all 2 photos").click()
    page.get_by_text("2 of 2 photos fixed").first.wait_for(timeout=240_000)
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_role("button", name="Download fixed photos (zip)").is_visible()
    page.screenshot(path=str(tmp_path / "09-fix-all.png"), full_page=True)
    _keep(tmp_path)
