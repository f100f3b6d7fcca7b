"""The chat page in headless Chromium (Debian's, through Playwright): sign in, ask, watch the answer stream in,
open a cited case, toggle the reasoning, switch language. Saves a screenshot under test-artifacts/."""

from __future__ import annotations

from tests.api.conftest import ARTIFACTS, Keys, Server


def test_chat_page(browser, server: Server, keys: Keys) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    page.goto(server.url + "/")
    page.click("#lang-es")
    assert page.inner_text("h1") == "Iniciar sesión"

    page.fill("#apikey", "cw_000000000000_wrong")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-error:not([hidden])")

    page.fill("#apikey", keys.clinician)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#chat:not([hidden])")
    assert page.evaluate("sessionStorage.getItem('cw_key')") == keys.clinician

    # The filters offer the vocabulary as pickers, named in the page's language, the id as the value.
    # A locator wait, not wait_for_function: the page's CSP (script-src 'self') forbids the eval that polling uses.
    page.locator("#dl-diagnosis option").nth(5).wait_for(state="attached")
    options = page.eval_on_selector_all("#dl-diagnosis option", "os => os.map(o => [o.value, o.label])")
    assert ["knee_oa", "artrosis de rodilla (M17)"] in options, options[:5]
    assert page.eval_on_selector_all("#dl-treatment option", "os => os.map(o => o.value)").count("prp") == 1
    page.fill("#f-diagnosis", "knee_oa")
    page.fill("#question", "Mujer de 58 años con gonartrosis grado 2 en rodilla izquierda, EVA 7/10 pese a AINEs. "
                           "¿Qué tratamientos funcionaron en pacientes similares?")
    page.click("#ask-btn")
    # The streamed text appears first; the evidence table and the cited cases follow with the final answer.
    page.locator(".msg.bot .text", has_text="PT-").wait_for()
    page.wait_for_selector("table.evidence")
    cards = page.locator("details.case")
    assert cards.count() > 0

    cards.first.locator("summary").click()
    cards.first.locator("dl").wait_for()
    assert "Diagnósticos" in cards.first.inner_text()

    thinking = page.locator(".thinking").first
    assert not thinking.is_visible()
    page.check("#show-thinking")
    assert thinking.is_visible()

    page.click("#lang-en")
    assert page.inner_text("#ask-btn") == "Ask"
    page.click("#lang-es")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-page.png"), full_page=True)
    # CSP violations and failed loads show up here; the 401 of the wrong key above is expected.
    assert [e for e in console_errors if "401" not in e] == [], console_errors
    page.close()
