"""Fetching a Karbon work item for the Karbon webhook: Karbon's notification only names it.

``GET https://api.karbonhq.com/v3/WorkItems/{WorkItemKey}`` with the API
application's bearer token and the firm's access key (Karbon's developer
guide); the raw JSON body is handed to
:func:`milestonebill.integrations.practice.karbon.work_item_completion`.
An answer other than 200 is a :class:`~milestonebill.errors.GatewayUnavailableError`
(503: Karbon retries the notification later); a missing work item is a
:class:`~milestonebill.errors.NotFoundError`.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

import attrs
import httpx

from milestonebill.errors import GatewayUnavailableError, NotFoundError

__all__ = ["KARBON_API", "KarbonApi"]

#: Karbon's API root.
KARBON_API: Final = "https://api.karbonhq.com/v3"


@attrs.define
class KarbonApi:
    """Reads work items from Karbon's API (``client`` may be given a mock transport)."""

    token: str = attrs.field(repr=False)
    access_key: str = attrs.field(repr=False)
    client: httpx.Client = attrs.Factory(lambda: httpx.Client(timeout=10.0))
    base_url: str = KARBON_API

    def work_item(self, key: str) -> bytes:
        """The JSON body of ``GET /WorkItems/{key}``."""
        url = f"{self.base_url}/WorkItems/{quote(key, safe='')}"
        headers = {"Authorization": f"Bearer {self.token}", "AccessKey": self.access_key,
                   "Accept": "application/json"}
        try:
            r = self.client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise GatewayUnavailableError(f"Karbon could not be reached: {type(exc).__name__}"
                                          ) from exc
        if r.status_code == 404:
            raise NotFoundError(f"Karbon has no work item {key!r}")
        if r.status_code != 200:
            raise GatewayUnavailableError(f"Karbon answered {r.status_code} for work item "
                                          f"{key!r}")
        return r.content

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()
