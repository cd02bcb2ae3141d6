from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext
from django.views import i18n
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import ApiTokenForm, DeleteAccountForm, PreferencesForm
from accounts.models import ApiToken
from audit.services import Action, record


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    # Not `request.POST or None`: unticking the only box posts no field, which must still be a save.
    form = PreferencesForm(request.POST if request.method == "POST" else None, instance=request.user)
    if form.is_valid():
        user = form.save()
        if user.language:
            translation.activate(user.language)  # the message below, and the pages after, in the new language
        messages.success(request, gettext("Your preferences were saved."))
        return redirect("accounts:preferences")
    return render(request, "accounts/preferences.html", {"form": form})


@require_POST
def set_language(request):
    """Django's set_language (the language cookie, after its checks of the code and of `next`), and for a
    signed-in user the account too, so every device they sign in on follows."""
    response = i18n.set_language(request)
    chosen = response.cookies.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen is not None and request.user.is_authenticated:
        request.user.save_language(chosen.value)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    form = ApiTokenForm(request.POST if request.method == "POST" else None, user=request.user)
    new_key = None
    if form.is_valid():
        token, new_key = ApiToken.issue(request.user, form.cleaned_data["name"])
        record(request, Action.CHANGED, request.user, detail=f"API token {token.prefix} created")
        form = ApiTokenForm(user=request.user)
    context = {
        "form": form,
        "tokens": request.user.api_tokens.all(),
        "new_key": new_key,
        "token_days": settings.API_TOKEN_DAYS,
    }
    response = render(request, "accounts/api_tokens.html", context)
    response["Cache-Control"] = "private, no-store"  # the page may show a new key, once
    return response


@login_required
@require_POST
def revoke_api_token(request, pk: int):
    token = get_own_api_token(request, pk)
    token.delete()
    record(request, Action.CHANGED, request.user, detail=f"API token {token.prefix} revoked")
    messages.success(
        request,
        gettext("The token “%(name)s” was revoked; programs using it are locked out.") % {"name": token.name},
    )
    return redirect("accounts:api_tokens")


def get_own_api_token(request, pk: int) -> ApiToken:
    """The user's own token, else 404: another user's token must not even be known to exist."""
    return get_object_or_404(ApiToken.objects.filter(user=request.user), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request):
    user = request.user
    form = DeleteAccountForm(request.POST if request.method == "POST" else None, user=user)
    if not (user.may_delete_own_account and form.is_valid()):
        return render(request, "accounts/delete_account.html", {"form": form})
    # Recorded first, while the event can still say who; the record stays and stops naming them.
    record(request, Action.DELETED, user, detail="account deleted by its owner")
    user.delete_with_files()
    logout(request)
    messages.success(request, gettext("Your account, your X-rays and everything about them were deleted."))
    return redirect("home")
