"""The async session API. Django 5.0 added it (``aget``, ``aset``, ...);
on Django 4.2 ``AsyncSessionAPI`` offers it too. On every version it routes
the twins whose sync side this app changes (``cycle_key``, ``flush``, the
expiry API and browser-close rule, ``touch``) to that sync side, so they
follow the same rules."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.base import SessionBase


class AsyncSessionAPI:
    """Mixed in before ``SessionBase``."""

    if not TYPE_CHECKING and not hasattr(SessionBase, "aget"):  # Django 4.2

        async def _aget_session(self, no_load: bool = False) -> dict[str, Any]:
            return await sync_to_async(self._get_session)(no_load)

        async def aget(self, key: str, default: Any = None) -> Any:
            return (await self._aget_session()).get(key, default)

        async def aset(self, key: str, value: Any) -> None:
            (await self._aget_session())[key] = value
            self.modified = True

        async def apop(self, key: str, *args: Any) -> Any:
            session = await self._aget_session()
            self.modified = self.modified or key in session
            return session.pop(key, *args)

        async def asetdefault(self, key: str, value: Any) -> Any:
            session = await self._aget_session()
            if key not in session:
                await self.aset(key, value)
            return session[key]

        async def aupdate(self, dict_: dict[str, Any]) -> None:
            (await self._aget_session()).update(dict_)
            self.modified = True

        async def ahas_key(self, key: str) -> bool:
            return key in (await self._aget_session())

        async def akeys(self) -> Any:
            return (await self._aget_session()).keys()

        async def avalues(self) -> Any:
            return (await self._aget_session()).values()

        async def aitems(self) -> Any:
            return (await self._aget_session()).items()

        async def aset_expiry(self, value: Any) -> None:
            await sync_to_async(self.set_expiry)(value)

        async def aexists(self, session_key: str | None) -> bool:
            return await sync_to_async(self.exists)(session_key)

        async def acreate(self) -> None:
            await sync_to_async(self.create)()

        async def asave(self, must_create: bool = False) -> None:
            await sync_to_async(self.save)(must_create)

        async def adelete(self, session_key: str | None = None) -> None:
            await sync_to_async(self.delete)(session_key)

        async def aload(self) -> dict[str, Any]:
            return await sync_to_async(self.load)()

        @classmethod
        async def aclear_expired(cls) -> None:
            await sync_to_async(cls.clear_expired)()

    if not TYPE_CHECKING:

        async def acycle_key(self) -> None:
            await sync_to_async(self.cycle_key)()

        async def aflush(self) -> None:
            await sync_to_async(self.flush)()

        async def aget_expiry_age(self, **kwargs: Any) -> int:
            return await sync_to_async(self.get_expiry_age)(**kwargs)

        async def aget_expiry_date(self, **kwargs: Any) -> datetime:
            return await sync_to_async(self.get_expiry_date)(**kwargs)

        async def atouch(self) -> bool:
            return await sync_to_async(self.touch)()

        async def aget_expire_at_browser_close(self) -> bool:
            # A remembered session's cookie is persistent (``RememberMixin``).
            return await sync_to_async(self.get_expire_at_browser_close)()
