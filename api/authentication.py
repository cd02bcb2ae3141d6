"""`Authorization: Token <key>`, checked against the hashes of the users' API tokens."""

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import ApiToken


class ApiTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        token = ApiToken.find(key)
        if token is None:
            raise AuthenticationFailed("Invalid, revoked or expired token.")
        token.record_use()
        return token.user, token
