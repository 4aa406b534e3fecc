"""`EmulatedPBX`: one emulated Asterisk 22 — its configuration, clock, queues and AMI server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from telephony.pbxsim import conf
from telephony.pbxsim.amiserver import ActionSpec, AMISession, privilege_text
from telephony.pbxsim.amiwire import Headers, encode
from telephony.pbxsim.channels import Channel
from telephony.pbxsim.clock import Clock
from telephony.pbxsim.conference import Conference
from telephony.pbxsim.dialplan import Dialplan
from telephony.pbxsim.pbxconfig import PERMISSION_FLAGS, PBXConfig, load_pbx_config
from telephony.pbxsim.queues import Queue, queue_order_key
from telephony.pbxsim.sounds import LAB_SOUNDS, load_sound_dir
from telephony.pbxsim.trunk import IAX_NETWORK, IaxNetwork

Address = tuple[str, int]
# ast_device_state values as QueueMember/QueueMemberStatus `Status` shows them.
DEVICE_STATE_CODES = {
    "UNKNOWN": 0,
    "NOT_INUSE": 1,
    "INUSE": 2,
    "BUSY": 3,
    "INVALID": 4,
    "UNAVAILABLE": 5,
    "RINGING": 6,
    "RINGINUSE": 7,
    "ONHOLD": 8,
}
log = logging.getLogger(__name__)


class EmulatedPBX:
    """An in-process Asterisk look-alike. `ami_port=0` binds a free port; read `ami_port`
    after `start()`. `agi_redirect` maps a FastAGI address named in the dialplan to the
    address actually dialled (so tests can run their FastAGI server on a free port).
    `iax_network` links PBXs by IAX2 trunk: each started PBX listens there on its iax.conf
    `bindaddr:bindport` (default: the process-wide `trunk.IAX_NETWORK`).
    `phone_ring_time` / `phone_talk_time` drive PJSIP/<endpoint> queue members."""

    def __init__(
        self,
        config: PBXConfig,
        dialplan: Dialplan,
        name: str = "lab",
        ami_host: str = "127.0.0.1",
        ami_port: int = 0,
        time_scale: float = 1.0,
        agi_redirect: dict[Address, Address] | None = None,
        iax_network: IaxNetwork | None = None,
        sounds: Path | None = None,
    ) -> None:
        self.config = config
        # Prompts that exist (name -> samples): the lab's "beep", plus a `sounds` folder's
        # files standing for the recordings an administrator installs (sounds.py).
        self.sound_files = dict(LAB_SOUNDS)
        if sounds is not None:
            self.sound_files.update(load_sound_dir(Path(sounds)))
        self.dialplan = dialplan
        self.iax = conf.IaxConfig()
        # PJSIP/<endpoint> queue members: seconds until they answer, and how long they talk
        # before hanging up (None: until the call is hung up from elsewhere).
        self.phone_ring_time = 2.0
        self.phone_talk_time: float | None = None
        self.iax_network = iax_network if iax_network is not None else IAX_NETWORK
        self.features = conf.Features({}, {}, {}, {})
        self.confbridge = conf.ConfBridgeConfig(
            {}, {}, {"default_menu": conf.Menu("default_menu", None)}
        )
        self.global_vars: dict[str, str] = dict(dialplan.globals)
        self.channels: dict[str, Channel] = {}
        self.conferences: dict[str, Conference] = {}
        self._local_sequence = 0
        self._uniqueid_sequence = 0
        self.name = name
        self.ami_host = ami_host
        self._requested_port = ami_port
        self.clock = Clock(time_scale)
        self.agi_redirect = dict(agi_redirect or {})
        self.ami_sessions: set[AMISession] = set()
        self._all_sessions: set[AMISession] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        boot = int(self.clock.now())
        ordered = sorted(config.queues.values(), key=lambda q: queue_order_key(q.name))
        self.queues: dict[str, Queue] = {q.name: Queue.from_config(q, boot) for q in ordered}
        from telephony.pbxsim.actions import ACTIONS

        self.actions: dict[str, ActionSpec] = ACTIONS

    @classmethod
    def from_config_dir(
        cls,
        path: str | Path,
        name: str = "lab",
        ami_host: str = "127.0.0.1",
        ami_port: int = 0,
        time_scale: float = 1.0,
        agi_redirect: dict[Address, Address] | None = None,
        iax_network: IaxNetwork | None = None,
        sounds: Path | None = None,
    ) -> EmulatedPBX:
        config, loaded = load_pbx_config(Path(path))
        pbx = cls(
            config,
            Dialplan(loaded.dialplan),
            name,
            ami_host,
            ami_port,
            time_scale,
            agi_redirect,
            iax_network,
            sounds,
        )
        pbx.features = loaded.features
        for feature, where in loaded.features.unemulated.items():
            code = loaded.features.featuremap[feature]
            log.warning(
                "%s: %s => %s is read but not emulated: pressing it on a bridged call does nothing",
                where,
                feature,
                code,
            )
        pbx.confbridge = loaded.confbridge
        pbx.iax = loaded.iax
        return pbx

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError(f"PBX {self.name!r} already started")
        self._server = await asyncio.start_server(
            self._on_connect, self.ami_host, self._requested_port
        )
        if self.iax.peers or self.iax.users:
            self.iax_network.register((self.iax.bindaddr, self.iax.bindport), self)

    def set_ami_port(self, port: int) -> None:
        """The port start() binds (0 = any free port)."""
        if self._server is not None:
            raise RuntimeError(f"PBX {self.name!r} already started")
        self._requested_port = port

    @property
    def ami_port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"PBX {self.name!r} is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        if self._server is None:
            return
        self.iax_network.unregister(self)
        self._server.close()
        for session in list(self._all_sessions):
            await session.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._server.wait_closed()
        self._server = None

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AMISession(self, reader, writer)
        self._all_sessions.add(session)
        try:
            await session.run()
        finally:
            self._all_sessions.discard(session)

    def spawn(self, coroutine: object) -> asyncio.Task[None]:
        """Run a call flow in the background; the PBX cancels it on stop()."""
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("pbx %s: call flow failed", self.name, exc_info=task.exception())

    # -- channels ------------------------------------------------------------------------
    def next_local_sequence(self) -> int:
        # Asterisk numbers Local channels from 0 (trace 02 on a fresh start: -00000000).
        sequence = self._local_sequence
        self._local_sequence += 1
        return sequence

    def next_uniqueid(self) -> str:
        self._uniqueid_sequence += 1
        return f"{self.name}-{int(self.clock.now())}.{self._uniqueid_sequence}"

    def add_channel(self, channel: Channel) -> Channel:
        channel.created = self.clock.now()
        self.channels[channel.name] = channel
        return channel

    def remove_channel(self, channel: Channel) -> None:
        self.channels.pop(channel.name, None)

    def find_channel(self, name: str) -> Channel | None:
        """A channel by its name or, as ast_channel_get_by_name also accepts, its Uniqueid."""
        channel = self.channels.get(name)
        if channel is not None:
            return channel
        return next((c for c in self.channels.values() if c.uniqueid == name), None)

    # -- device states --------------------------------------------------------------------
    def device_state_changed(self, device: str, state: str) -> None:
        """Queue members follow their device: QueueMemberStatus on each change, then the
        queue's `_avail` hint."""
        code = DEVICE_STATE_CODES.get(state, 0)
        for queue in self.queues.values():
            for member in queue.members:
                if member.device != device or member.status == code:
                    continue
                member.status = code
                self.emit(
                    "QueueMemberStatus",
                    "agent",
                    [("Queue", queue.name), *member.headers("MemberName", with_ringinuse=True)],
                )
                if code != 1:
                    hint = "NOT_INUSE" if queue.available() else "INUSE"
                    self.emit(
                        "DeviceStateChange",
                        "call",
                        [("Device", f"Queue:{queue.name}_avail"), ("State", hint)],
                    )

    # -- events --------------------------------------------------------------------------
    def emit(self, event: str, category: str, headers: Headers) -> None:
        """Send an event to every logged-in session whose read classes include `category`."""
        bit = PERMISSION_FLAGS[category]
        message: Headers = [
            ("Event", event),
            ("Privilege", privilege_text(bit)),
            ("SystemName", self.name),
            *headers,
        ]
        data: bytes | None = None
        for session in list(self.ami_sessions):
            if session.wants(bit):
                data = data if data is not None else encode(message)
                session.send_bytes(data)

    def broadcast_security(self, message: Headers) -> None:
        bit = PERMISSION_FLAGS["security"]
        for session in list(self.ami_sessions):
            if session.wants(bit):
                session.send(message)
