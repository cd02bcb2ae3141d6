"""Moving through a page as someone without a mouse does: Tab to a control, then Enter, Space, the arrow
keys or typing. Nothing here clicks or fills; reading where the focus is, is all."""

from playwright.sync_api import expect

from accounts.mfa import must_use_mfa
from tests.factories import PASSWORD, current_totp_code

MAX_PRESSES = 80  # more than any page here has controls; a control never reached fails the test


def has_focus(control) -> bool:
    return control.evaluate("element => element === document.activeElement")


def tab_to(page, control) -> None:
    """Press Tab until `control` has the focus, as a keyboard user moves along the page."""
    for _ in range(MAX_PRESSES):
        page.keyboard.press("Tab")
        if has_focus(control):
            return
    raise AssertionError(f"{MAX_PRESSES} presses of Tab never reached {control}")


def type_into(page, control, text: str) -> None:
    tab_to(page, control)
    page.keyboard.type(text)


def log_in(page, user) -> None:
    """The login form, and the authenticator code where the account needs one, from the keyboard."""
    page.goto("/accounts/login/")
    type_into(page, page.get_by_label("Email"), user.email)
    type_into(page, page.get_by_label("Password"), PASSWORD)
    page.keyboard.press("Enter")
    if must_use_mfa(user):
        code = page.get_by_label("Code")
        expect(code).to_be_visible()
        type_into(page, code, current_totp_code())
        page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
