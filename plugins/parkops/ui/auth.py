"""Who may see the pages: an Airflow user on every route, the personal-data permission for row values.

Apps of ``fastapi_apps`` are mounted on the api-server without any authentication of their own:
:func:`airflow_user` reads the user as the REST API does; :func:`personal_data_reader` decides who
sees personal data (the quarantined rows, the sample reasons). Airflow's security modules are
imported in the handlers: every Airflow process loads the plugins, only the api-server serves pages.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

PERSONAL_DATA_REFUSED = (
    "隔离行含个人信息，仅限有个人数据权限的用户（简单认证：admin 角色；其他认证：Parkops Personal Data 的读权限），"
    "见 README「Who sees personal data」"
)

_bearer_scheme = HTTPBearer(auto_error=False)


async def airflow_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Any:
    """The Airflow user of the request, as the REST API authenticates it.

    Apps of ``fastapi_apps`` are mounted on the api-server without any authentication of their
    own, so every route depends on this: a JWT in ``Authorization: Bearer`` (from ``POST
    /auth/token``, for scripts), else the ``_token`` cookie the Airflow UI sets at login (so the
    pages work inside the UI and in a browser tab of a logged-in user). 401 without either.
    """
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, _oauth_token=None, bearer_credentials=credentials)


#: The custom resource an auth manager other than the simple one (FAB, Keycloak...) checks before
#: showing row values: grant ``can_read`` on it to the roles that may see personal data.
PERSONAL_DATA_RESOURCE = "Parkops Personal Data"


async def personal_data_reader(user: Annotated[Any, Depends(airflow_user)]) -> bool:
    """Whether the user may see row values (personal data): quarantined rows, sample reasons.

    The simple auth manager (Airflow's default, the one of this project's deployment) lets every
    viewer into every custom view, so there its ``admin`` role decides; any other auth manager is
    asked about the custom view :data:`PERSONAL_DATA_RESOURCE`. Reading task logs is not enough:
    every ``viewer`` may do that.
    """
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    manager = get_auth_manager()
    if isinstance(manager, SimpleAuthManager):
        return str(getattr(user, "role", None) or "").upper() == "ADMIN"
    return manager.is_authorized_custom_view(method="GET", resource_name=PERSONAL_DATA_RESOURCE, user=user)


async def quarantine_row_reader(allowed: Annotated[bool, Depends(personal_data_reader)]) -> None:
    """403 unless the user may see personal data (:func:`personal_data_reader`)."""
    if not allowed:
        raise HTTPException(status_code=403, detail=PERSONAL_DATA_REFUSED)


async def login_redirect_or_error(request: Request, error: StarletteHTTPException) -> Response:
    """A browser without a valid session goes to the Airflow login and back; API clients get the error."""
    if error.status_code == 401 and "text/html" in request.headers.get("accept", ""):
        from airflow.api_fastapi.app import get_auth_manager

        return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)
    return await http_exception_handler(request, error)
