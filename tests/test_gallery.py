"""The local gallery (issue 12): its API validates every parameter (400, never a traceback),
serves only its own files on 127.0.0.1, and works in a real headless Chromium."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagesets
from imagesets.gallery import HOST, Gallery

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture
def gallery() -> Iterator[Gallery]:
    train = imagesets.load("fashion-mnist", sample=True, progress=False)["train"]
    with Gallery("fashion-mnist", train) as running:
        yield running


def _get(gallery: Gallery, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(gallery.url + path.lstrip("/"), timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_binds_loopback_only(gallery: Gallery) -> None:
    assert gallery.server.server_address[0] == HOST == "127.0.0.1"


def test_info_page_and_images(gallery: Gallery) -> None:
    status, body = _get(gallery, "/api/info")
    info = json.loads(body)
    assert status == 200 and info["count"] == 1000 and len(info["classes"]) == 10
    assert sum(info["counts"]) == 1000 and len(info["stats"]["mean"]) == 1
    page = json.loads(_get(gallery, "/api/page?page=1&per=7&label=8")[1])
    bags = np.flatnonzero(gallery.split.labels == 8)
    assert [item["index"] for item in page["items"]] == bags[7:14].tolist()
    assert {item["name"] for item in page["items"]} == {"Bag"} and page["total"] == len(bags)
    status, png = _get(gallery, f"/img/{bags[0]}.png")
    assert status == 200 and png.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "path",
    [
        "/api/page?page=-1",
        "/api/page?page=99999",
        "/api/page?per=0",
        "/api/page?per=abc",
        "/api/page?label=10",
        "/api/page?coarse=0",
        "/img/1000.png",
        "/img/5.png?zoom=7",
    ],
)
def test_bad_parameters_are_400_with_a_message(gallery: Gallery, path: str) -> None:
    status, body = _get(gallery, path)
    assert status == 400 and json.loads(body)["error"]


@pytest.mark.parametrize(
    "path", ["/../../etc/passwd", "/static/../__init__.py", "/static/%2e%2e/__init__.py",
             "/img/-1.png", "/img/1.jpg", "/static/", "/etc/passwd"],
)  # fmt: skip
def test_no_other_file_is_served(gallery: Gallery, path: str) -> None:
    status, body = _get(gallery, path)
    assert status == 404 and b"import" not in body


def _browser(tmp_path: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}",
                 "--window-size=1200,900"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)


@pytest.mark.browser
def test_the_page_in_headless_chromium(gallery: Gallery, tmp_path: Path) -> None:
    assert CHROMIUM.exists() and DRIVER.exists(), "install chromium and chromium-driver"
    assert shutil.which(str(DRIVER))
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    driver = _browser(tmp_path)
    try:
        wait = WebDriverWait(driver, 20)
        driver.get(gallery.url)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#grid figure")) == 60)
        assert "page 1 of 17 (1000 images)" in driver.find_element(By.ID, "pageinfo").text
        assert "skipped files (0)" in driver.find_element(By.ID, "skipped").text
        bags = np.flatnonzero(gallery.split.labels == 8)
        Select(driver.find_element(By.ID, "filter")).select_by_value("label=8")
        wait.until(lambda d: f"({len(bags)} images)" in d.find_element(By.ID, "pageinfo").text)
        figures = driver.find_elements(By.CSS_SELECTOR, "#grid figure")
        assert [int(f.get_attribute("data-index")) for f in figures] == bags[:60].tolist()
        assert {f.text for f in figures} == {"Bag"}
        figures[0].click()
        wait.until(lambda d: d.find_element(By.ID, "zoomcap").text)
        assert driver.find_element(By.ID, "zoomcap").text == f"train label [{bags[0]}] = 8 (Bag)"
        wait.until(lambda d: d.execute_script(
            "const i = document.getElementById('zoomimg'); return i.complete && i.naturalWidth"
        ))  # fmt: skip
        assert driver.find_element(By.ID, "zoomimg").get_property("naturalWidth") >= 280
        shot = tmp_path / "gallery.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 1000
    finally:
        driver.quit()


@pytest.mark.browser
def test_the_notebook_card_renders_in_headless_chromium(tmp_path: Path) -> None:
    """The HTML a notebook shows for a Dataset, opened from a file: every thumbnail decodes."""
    from selenium.webdriver.common.by import By

    ds = imagesets.load("fashion-mnist", sample=True, progress=False)
    page = tmp_path / "card.html"
    page.write_text(f"<!doctype html><meta charset='utf-8'>{ds._repr_html_()}", encoding="utf-8")
    driver = _browser(tmp_path)
    try:
        driver.get(page.as_uri())
        images = driver.find_elements(By.CSS_SELECTOR, ".imagesets-strip img")
        assert len(images) == 20  # 10 classes x 2 splits
        assert all(img.get_property("naturalWidth") == 56 for img in images)
        shot = tmp_path / "card.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 1000
    finally:
        driver.quit()
