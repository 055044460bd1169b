"""What routes get from the app: the Sandbox and the update delivery (both kept on app.state)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sandbox.delivery import UpdateDelivery
from sandbox.state import Sandbox


def get_sandbox(request: Request) -> Sandbox:
    """Return the app's Sandbox."""
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def get_delivery(request: Request) -> UpdateDelivery:
    """Return the app's long-poll and webhook delivery."""
    delivery: UpdateDelivery = request.app.state.delivery
    return delivery


SandboxDep = Annotated[Sandbox, Depends(get_sandbox)]
DeliveryDep = Annotated[UpdateDelivery, Depends(get_delivery)]
