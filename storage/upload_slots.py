"""Uploads this process is receiving: how many per user and per client address, and the scratch space
they have reserved, so a few slow clients cannot hold every slot or fill the disk.

Per process, like the scratch directory itself (DATA_DIR/tmp, on this machine's disk): with several
workers each counts its own, so the space one machine's uploads may use at once is the worker count
times UPLOAD_SCRATCH_MAX_MIB. Every method runs without awaiting, so each is atomic on the event loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

Refusal = Literal["user", "address", "anonymous", "space"]


class UploadSlotRefusedError(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SlotLimits:
    per_user: int
    per_address: int
    # Of those, uploads whose sender is not known yet (no token before the file).
    anonymous_per_address: int
    max_reserved_bytes: int


class UploadSlots:
    def __init__(self) -> None:
        self._holders: Counter[str] = Counter()
        self.reserved_bytes = 0

    def in_progress(self, key: str) -> int:
        return self._holders[key]

    @contextmanager
    def hold(
        self, limits: SlotLimits, *, user: str | None, address: str | None, reserve_bytes: int
    ) -> Iterator[None]:
        """One upload slot for the block; UploadSlotRefusedError when the user or the address (or the
        address's anonymous uploads, for one without a user) already has its most uploads in progress,
        or the reservation does not fit in the space left."""
        keys = []
        if user is not None:
            if self._holders[f"user:{user}"] >= limits.per_user:
                raise UploadSlotRefusedError("user")
            keys.append(f"user:{user}")
        if address is not None:
            if self._holders[f"address:{address}"] >= limits.per_address:
                raise UploadSlotRefusedError("address")
            keys.append(f"address:{address}")
            if user is None:
                if self._holders[f"anonymous:{address}"] >= limits.anonymous_per_address:
                    raise UploadSlotRefusedError("anonymous")
                keys.append(f"anonymous:{address}")
        if self.reserved_bytes + reserve_bytes > limits.max_reserved_bytes:
            raise UploadSlotRefusedError("space")
        self.reserved_bytes += reserve_bytes
        self._holders.update(keys)
        try:
            yield
        finally:
            self.reserved_bytes -= reserve_bytes
            self._holders.subtract(keys)
            for key in keys:
                if self._holders[key] <= 0:
                    del self._holders[key]
