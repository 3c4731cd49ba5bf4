"""Login phase events: loginkit.core._phases."""

from __future__ import annotations

import json

from loginkit.core._categories import LoginFailureCategory
from loginkit.core._phases import Failed


def test_failed_event_fields_are_json_ready() -> None:
    from loginkit.core._categories import LoginFailurePhase

    fields = Failed(
        LoginFailurePhase.OPEN_BROWSER, LoginFailureCategory.BROWSER_LAUNCH_FAILED, "m"
    ).fields()
    assert json.loads(json.dumps(fields)) == {
        "failure_phase": "open_browser",
        "category": "browser_launch_failed",
        "title": "Couldn't open your browser",
        "message": "m",
    }
