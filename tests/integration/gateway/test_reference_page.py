"""The reference page as a person sees it: /docs opened in headless Chromium renders the gateway's
own document with Redoc served by the gateway itself (no CDN: the browser may reach nothing else),
with every service's section, an operation, its parameters and its problem responses."""

from tests.support.browser import artifacts, browser, page  # noqa: F401


def test_the_reference_page_renders_the_document_from_the_gateway_alone(gateway, page, artifacts):  # noqa: F811
    gw = gateway()
    elsewhere = []
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(gw.url)
            else (elsewhere.append(route.request.url), route.abort())
        ),
    )
    page.goto(f"{gw.url}/docs")
    page.wait_for_selector("text=Idempotency-Key", timeout=60_000)
    text = page.inner_text("body")
    for section in ("registry", "tickets", "events", "notifications", "天衢新区商圈党建联盟", "problem details"):
        assert section in text, section
    page.locator("nav, aside, [role=navigation], div").get_by_text("tickets", exact=True).first.click()  # the sidebar
    page.get_by_text("submit ticket").first.click()
    page.get_by_text("/v1/tickets", exact=True).first.wait_for(timeout=30_000)
    page.wait_for_selector("text=Invalid input", timeout=30_000)
    page.screenshot(path=str(artifacts / "reference-page.png"), full_page=False)
    print(f"screenshot: {artifacts / 'reference-page.png'}")
    assert elsewhere == [], f"the page reached beyond the gateway: {elsewhere}"
