"""The demo's stack on one machine: broker, cloud bridge (ingest + API) and a simulated kiosk.

``DemoStack`` is an async context manager. On entry it starts, in order: the MQTT broker (the
embedded amqtt one, or uses ``broker_url``), the cloud's SQLite store (migrated), the kiosk's
identity (enrolled in the cloud if new), the cloud's ingest worker (paho threads), the cloud's
HTTP API (uvicorn, in this loop) and the kiosk gateway (its link, in this loop). On exit it
stops them in reverse order and leaves no thread or task behind.

This module is the composition root's business: it is the only place that holds a kiosk and
a cloud at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from sqlalchemy.engine import Engine

from cloud_bridge.api import create_app
from cloud_bridge.ingest import IngestWorker, WorkerNotReady
from cloud_bridge.settings import BridgeSettings
from cloud_bridge.settings import load_settings as load_bridge_settings
from cloud_bridge.signing import CloudSigner, new_key_file
from cloud_bridge.store import enroll_device, list_devices, make_engine, migrate, session_factory
from device_drivers import DevicesConfig
from gateway.cancellation import cancel_and_wait
from gateway.settings import GatewaySettings
from gateway.settings import load_settings as load_gateway_settings
from gateway.settings_toml import write_settings
from gateway.testing import SimulatedKiosk
from kiosk_ui.server import ScreenServer

from ..embedded_broker import EmbeddedBroker

log = logging.getLogger(__name__)

DEMO_DEVICE_ID = "demo-kiosk-01"
DEMO_STATION = "DEMO01"
DEMO_PLACE = "370902"  # 山东省泰安市泰山区: any valid GB/T 2260 code would do
HEADLESS_INCUBATION_SCALE = 0.0005  # a 10-minute incubation takes 0.3 s for simulated farmers
INTERACTIVE_INCUBATION_SCALE = 0.02  # and 12 s for a person watching the countdown
SCORING_FRAME_SIZE = (1280, 960)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers do: a port still in TIME_WAIT after the last run is free to use.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class DemoError(Exception):
    """The demo cannot start (a port in use, a broker that does not answer, a data folder
    that is not the demo's); one line."""


@dataclass
class DemoOptions:
    data_dir: Path
    broker_url: str | None = None
    api_port: int | None = None
    host: str = "127.0.0.1"
    kiosk_port: int | None = None
    """Serve the kiosk screen (and the simulated-hardware panel) on this port; None: don't."""
    incubation_scale: float = HEADLESS_INCUBATION_SCALE


@dataclass
class DemoStack:
    options: DemoOptions
    broker: EmbeddedBroker | None = None
    bridge_settings: BridgeSettings | None = None
    engine: Engine | None = None
    worker: IngestWorker | None = None
    kiosk: SimulatedKiosk | None = None
    """The demo kiosk: a gateway on simulated devices (``gateway.testing``)."""
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _api: uvicorn.Server | None = None
    _kiosk_screen: ScreenServer | None = None

    # ------------------------------------------------------------------ addresses

    @property
    def api_url(self) -> str:
        assert self.bridge_settings is not None
        return f"http://{self.options.host}:{self.bridge_settings.api.port}"

    @property
    def kiosk_url(self) -> str | None:
        if self.options.kiosk_port is None:
            return None
        return f"http://{self.options.host}:{self.options.kiosk_port}"

    @property
    def kiosk_config_path(self) -> Path:
        """The demo kiosk's settings file (for nongan doctor / calibrate / kits --config)."""
        return self.options.data_dir / "kiosk" / "gateway.toml"

    @property
    def broker_url(self) -> str:
        if self.options.broker_url:
            return self.options.broker_url
        assert self.broker is not None
        return self.broker.url

    # ------------------------------------------------------------------ start / stop

    async def __aenter__(self) -> DemoStack:
        try:
            await self._start()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _start(self) -> None:
        opts = self.options
        opts.data_dir.mkdir(parents=True, exist_ok=True)
        embedded = opts.broker_url is None
        if embedded:
            self.broker = EmbeddedBroker(free_port(opts.host), opts.host)
            try:
                await self.broker.start()
            except RuntimeError as exc:  # amqtt missing
                raise DemoError(str(exc)) from None
        api_port = opts.api_port or free_port(opts.host)
        if not port_is_free(api_port, opts.host):
            raise DemoError(f"port {api_port} is in use: pass --port with a free one")
        # amqtt speaks MQTT 3.1.1 only and ignores $share: one plain subscriber.
        protocol = "3.1.1" if embedded else "5"
        database_url = f"sqlite:///{opts.data_dir / 'cloud.db'}"
        # The demo cloud's own signing key, made once in the demo's folder; the demo kiosk
        # pins its public key as a real one does at enrolment.
        key_file = opts.data_dir / "cloud-signing.key"
        if not key_file.exists():
            new_key_file(key_file)
        self.bridge_settings = load_bridge_settings(
            None,
            database={"url": database_url},
            broker={"url": self.broker_url, "protocol": protocol},
            ingest={"shared_subscription": not embedded, "client_id": "demo-bridge"},
            # The demo serves plain http on this machine: a Secure cookie would never come
            # back, and the dashboard could not log in. Said once, in the log.
            api={"host": opts.host, "port": api_port,
                 "public_base_url": f"http://{opts.host}:{api_port}", "secure_cookies": False},
            signing={"key_file": str(key_file)},
        )
        log.warning("demo: the dashboard's login cookie is not marked Secure (plain http on "
                    "%s); production keeps api.secure_cookies = true behind HTTPS", opts.host)
        await asyncio.to_thread(migrate, database_url)
        self.engine = make_engine(database_url)

        kiosk = self.kiosk_settings(protocol)
        # On disk too, so the technician's commands work on the demo kiosk while it runs:
        # nongan doctor --config {data_dir}/kiosk/gateway.toml
        write_settings(kiosk, self.kiosk_config_path)
        self.kiosk = await asyncio.to_thread(SimulatedKiosk.open, kiosk)
        await asyncio.to_thread(self._enrol_kiosk)

        self.worker = IngestWorker(self.bridge_settings, self.engine)
        try:
            await asyncio.to_thread(self.worker.start)
        except WorkerNotReady as exc:
            raise DemoError(f"{exc}; is a broker running at {self.broker_url}?") from None

        config = uvicorn.Config(
            create_app(self.bridge_settings, engine=self.engine),
            host=opts.host, port=api_port, log_level="warning", lifespan="on",
        )
        self._api = uvicorn.Server(config)
        self._tasks.append(asyncio.create_task(self._api.serve(), name="nongan-demo-api"))
        while not self._api.started:
            if self._tasks[-1].done():
                self._tasks[-1].result()  # raises the server's startup error
                raise DemoError(f"the cloud API did not start on port {api_port}")
            await asyncio.sleep(0.02)
        self._tasks.append(asyncio.create_task(self.kiosk.run(), name="nongan-demo-kiosk"))
        if opts.kiosk_port is not None:
            await self._serve_kiosk_screen(opts.kiosk_port)

    async def _serve_kiosk_screen(self, port: int) -> None:
        from kiosk_ui import create_app

        from .sim_panel import sim_panel_router

        if not port_is_free(port, self.options.host):
            raise DemoError(f"port {port} is in use: pass --kiosk-port with a free one")
        assert self.kiosk is not None
        app = create_app(self.kiosk.session, station_name="演示服务站", simulated=True,
                         extra_routers=[sim_panel_router(self.kiosk, self.api_url)])
        self._kiosk_screen = ScreenServer(app, host=self.options.host, port=port,
                                          log_level="warning", lifespan="off")
        task = asyncio.create_task(self._kiosk_screen.serve(), name="nongan-demo-screen")
        self._tasks.append(task)
        while not self._kiosk_screen.started:
            if task.done():
                task.result()
                raise DemoError(f"the kiosk screen did not start on port {port}")
            await asyncio.sleep(0.02)

    def kiosk_settings(self, protocol: str) -> GatewaySettings:
        assert self.bridge_settings is not None
        cloud_keys = CloudSigner.from_settings(self.bridge_settings.signing).enrolment_keys()
        return load_gateway_settings(
            None,
            device={"id": DEMO_DEVICE_ID, "station_id": DEMO_STATION, "place_code": DEMO_PLACE,
                    "station_name": "演示服务站",
                    "data_dir": str(self.options.data_dir.resolve() / "kiosk")},
            broker={"url": self.broker_url, "protocol": protocol},
            link={"telemetry_interval_s": 10.0, "resend_after_s": 15.0,
                  "backoff_initial_s": 0.2, "backoff_max_s": 5.0},
            clock={"trust_system_clock": True},
            cloud={"public_base_url": self.bridge_settings.api.public_base_url,
                   "signing_keys": cloud_keys},
            # Every device simulated, chosen explicitly; incubation shortened, which the
            # settings allow only with a simulated camera.
            devices=DevicesConfig.simulated(camera_size=SCORING_FRAME_SIZE),
            station={"incubation_time_scale": self.options.incubation_scale,
                     "cassette_timeout_s": 60 if self.options.kiosk_port is None else 180},
        )

    def _enrol_kiosk(self) -> None:
        assert self.engine is not None and self.kiosk is not None
        identity = self.kiosk.gateway.identity
        with session_factory(self.engine)() as session:
            known = {d.id: d for d in list_devices(session)}
            if identity.device_id in known:
                if known[identity.device_id].public_key != identity.public_key:
                    raise DemoError(
                        f"the demo cloud knows {identity.device_id} with another key: "
                        f"remove {self.options.data_dir} and start again"
                    )
                return
            enroll_device(session, device_id=identity.device_id,
                          public_key=identity.public_key, station_id=DEMO_STATION,
                          place_code=DEMO_PLACE)
            session.commit()

    async def _stop(self) -> None:
        if self._api is not None:
            self._api.should_exit = True
        if self._kiosk_screen is not None:
            self._kiosk_screen.stop()
        for task in reversed(self._tasks):
            if task.get_name() in ("nongan-demo-api", "nongan-demo-screen"):
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=10)
            else:
                await cancel_and_wait(task)
        self._tasks.clear()
        await _requests_finished()
        if self.worker is not None:
            await asyncio.to_thread(self.worker.stop)
            self.worker = None
        if self.kiosk is not None:
            await asyncio.to_thread(self.kiosk.close)
            self.kiosk = None
        if self.engine is not None:
            await asyncio.to_thread(self.engine.dispose)
            self.engine = None
        if self.broker is not None:
            await self.broker.stop()
            self.broker = None


async def _requests_finished(within_s: float = 2.0) -> None:
    """Let the servers' cancelled request tasks (long polls of the kiosk screen) unwind."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    current = asyncio.current_task()
    while loop.time() < deadline:
        pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()
                   and "run_asgi" in repr(t.get_coro())]
        if not pending:
            return
        await asyncio.sleep(0.02)
