import pytest

from django_sessiontokens.devices import describe

FIREFOX_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"
)
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
CHROME_PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
)
CHROME_ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.mark.parametrize(
    ("ua", "browser", "os", "kind", "family", "label"),
    [
        (
            FIREFOX_WINDOWS,
            "Firefox 120",
            "Windows",
            "desktop",
            "",
            "Firefox 120 on Windows",
        ),
        (CHROME_MAC, "Chrome 120", "macOS", "desktop", "Mac", "Chrome 120 on macOS"),
        (
            SAFARI_IPHONE,
            "Mobile Safari 17",
            "iOS",
            "mobile",
            "iPhone",
            "Mobile Safari 17 on iOS",
        ),
        (
            SAFARI_IPAD,
            "Mobile Safari 17",
            "iOS",
            "tablet",
            "iPad",
            "Mobile Safari 17 on iOS",
        ),
        (
            CHROME_PIXEL,
            "Chrome Mobile 120",
            "Android",
            "mobile",
            "Pixel 8",
            "Chrome Mobile 120 on Android",
        ),
        (
            CHROME_ANDROID_TABLET,
            "Chrome 120",
            "Android",
            "tablet",
            "SM-X700",
            "Chrome 120 on Android",
        ),
        (GOOGLEBOT, "Googlebot 2", "", "bot", "Spider", "Googlebot 2"),
        ("curl/8.4.0", "curl 8", "", "unknown", "", "curl 8"),
    ],
)
def test_describe(ua, browser, os, kind, family, label):
    info = describe(ua)
    assert (info.browser, info.os, info.kind, info.family, info.label) == (
        browser,
        os,
        kind,
        family,
        label,
    )


@pytest.mark.parametrize("ua", ["", None, "   ", "definitely not a browser"])
def test_unknown(ua):
    info = describe(ua)
    assert info.label == "Unknown device"
    assert info.kind == "unknown"
    assert info.browser == info.os == ""


def test_parsing_is_cached():
    from django_sessiontokens import devices

    devices._parsed.cache_clear()
    describe(FIREFOX_WINDOWS)
    describe(FIREFOX_WINDOWS)
    info = devices._parsed.cache_info()
    assert (info.hits, info.misses) == (1, 1)
