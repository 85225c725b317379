"""The ASGI application the Channels tests serve with uvicorn: Django for
HTTP (``tests.urls`` plus a view that shortens the session), and a websocket
consumer behind ``django_sessiontokens.channels.SessionTokenMiddlewareStack``
that says who it sees and echoes frames."""

import json

import django
from django.core.asgi import get_asgi_application
from django.http import HttpResponse
from django.urls import include, path

django.setup()
http_application = get_asgi_application()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from django_sessiontokens.channels import SessionTokenMiddlewareStack  # noqa: E402


def expire_in(request):
    request.session.set_expiry(int(request.GET["seconds"]))
    return HttpResponse("ok")


urlpatterns = [
    path("expire-in/", expire_in),
    path("", include("tests.urls")),
]


class WhoAmI(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()
        user = self.scope["user"]
        await self.send(
            json.dumps(
                {
                    "user": user.get_username() if user.is_authenticated else None,
                    "public_id": self.scope["session"].public_id,
                }
            )
        )

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data)


application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": SessionTokenMiddlewareStack(
            URLRouter([path("ws/whoami/", WhoAmI.as_asgi())])
        ),
    }
)
