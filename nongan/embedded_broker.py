"""The demo's embedded MQTT broker: amqtt, a pure-Python MQTT 3.1.1 broker, in our event loop.

Good enough to show the whole path on one machine with nothing installed. It is not the
production broker: it speaks MQTT 3.1.1 only, ignores ``$share`` shared subscriptions (so the
demo runs one ingest worker with a plain subscription) and is slower than Mosquitto
(``../shared/MQTT.md``). ``nongan demo --broker mqtt://host:port`` uses a real one instead.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedBroker:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        try:
            from amqtt.broker import Broker
        except ImportError as exc:
            raise RuntimeError(
                "the embedded broker needs amqtt: pip install 'nongan[demo]' "
                "(scripts/demo does this), or pass --broker mqtt://host:port"
            ) from exc
        # amqtt logs every packet at INFO; the demo's own output is what matters.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        self._broker = Broker(config)
        await self._broker.start()
        log.info("embedded MQTT broker on %s", self.url)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
