"""The local stack: Kafka (KRaft, from Maven jars), Redis and FerretDB, run without Docker."""

from boleta.stack.process import PortTakenError
from boleta.stack.stack import SERVICES, ServiceStatus, address, down, install, kill, status, up

__all__ = [
    "SERVICES",
    "PortTakenError",
    "ServiceStatus",
    "address",
    "down",
    "install",
    "kill",
    "status",
    "up",
]
