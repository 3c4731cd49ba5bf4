"""The progress vocabulary, for programs that render a sign-in themselves (TUIs, IDEs, wrappers).

Every phase of both flows is a :class:`LoginPhase`; ``isinstance(phase, Failed)`` (or
``LoginPhase.Failed``) catches every failure, browser or device. ``phase.id`` and
``phase.fields()`` are the stable, JSON-able form; ``phase.render(profile)`` the default text.
"""

from loginkit.core._categories import (
    DeviceFailureCategory,
    DeviceFailurePhase,
    LoginFailureCategory,
    LoginFailurePhase,
)
from loginkit.core._device_phases import (
    DEVICE_PHASES,
    PollingForApproval,
    PollRetrying,
    RequestingDeviceCode,
    ShowingDeviceCode,
)
from loginkit.core._phases import (
    ALL_PHASES,
    BindingLocalServer,
    CallbackReceived,
    ExchangingToken,
    Failed,
    LocalServerBound,
    LoginPhase,
    OpeningBrowser,
    PersistingCredentials,
    PreviousLoginServerDetected,
    ProgressSink,
    Succeeded,
    WaitingForCallback,
)

__all__ = [
    "ALL_PHASES",
    "DEVICE_PHASES",
    "BindingLocalServer",
    "CallbackReceived",
    "DeviceFailureCategory",
    "DeviceFailurePhase",
    "ExchangingToken",
    "Failed",
    "LocalServerBound",
    "LoginFailureCategory",
    "LoginFailurePhase",
    "LoginPhase",
    "OpeningBrowser",
    "PersistingCredentials",
    "PollRetrying",
    "PollingForApproval",
    "PreviousLoginServerDetected",
    "ProgressSink",
    "RequestingDeviceCode",
    "ShowingDeviceCode",
    "Succeeded",
    "WaitingForCallback",
]
