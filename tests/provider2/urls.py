"""URLs of the second test provider: django-oauth-toolkit under /o, Django's login page.

The one piece of glue: django-oauth-toolkit's OpenID discovery document omits the revocation
and device authorization endpoints it serves (its RFC 8414 document has the first only), so
``StrictDiscovery`` adds both; a client that reads discovery then finds every endpoint.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path, re_path, reverse
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import ConnectDiscoveryInfoView


class StrictDiscovery(ConnectDiscoveryInfoView):  # type: ignore[misc]
    """The library's discovery document plus its revocation and device endpoints."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        base = oauth2_settings.OIDC_ISS_ENDPOINT.rsplit("/o", 1)[0]
        data["revocation_endpoint"] = base + reverse("oauth2_provider:revoke-token")
        data["device_authorization_endpoint"] = base + reverse(
            "oauth2_provider:device-authorization"
        )
        data["grant_types_supported"] = [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
        ]
        result = JsonResponse(data)
        result["Access-Control-Allow-Origin"] = "*"
        return result


urlpatterns = [
    re_path(r"^o/\.well-known/openid-configuration$", StrictDiscovery.as_view()),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("accounts/login/", LoginView.as_view(), name="login"),
]
