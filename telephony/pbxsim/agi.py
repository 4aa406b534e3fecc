"""The AGI() application as a FastAGI client: connects to `agi://host:port/script`, sends the
`agi_*` block Asterisk 22 sends, runs the server's commands with Asterisk's replies
(traces 07, 07b, 12, 14) and publishes AGIExecStart/AGIExecEnd."""

from __future__ import annotations

import asyncio
import contextlib
import random
from urllib.parse import urlsplit

from telephony.pbxsim.channels import STATE_UP, Channel, HungUp
from telephony.pbxsim.dialplan import split_args
from telephony.pbxsim.sounds import SAMPLE_RATE

AGI_VERSION = "22.10.1"
DEAD_CHANNEL = "511 Command Not Permitted on a dead channel or intercept routine"
GET_DATA_USAGE = (
    "520-Invalid command syntax.  Proper usage follows:\n"
    "Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
    "Returns the digits received from the channel at the other end.\n"
    "520 End of proper usage.\n"
)


class AGISession:
    def __init__(
        self, channel: Channel, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.channel = channel
        self.reader = reader
        self.writer = writer
        self.failed = False
        self.hangup_sent = False
        self.goto: tuple[str, str, int] | None = None

    def send(self, text: str) -> None:
        self.writer.write(text.encode())

    async def run(self) -> None:
        watcher = asyncio.ensure_future(self._watch_hangup())
        try:
            while True:
                line = await self.reader.readline()
                if not line:
                    return
                command = line.decode("utf-8", errors="replace").rstrip("\n").rstrip("\r")
                if command:
                    await self.execute(command)
                await self.writer.drain()
        except ConnectionError:
            return
        finally:
            watcher.cancel()

    async def _watch_hangup(self) -> None:
        # Asterisk tells the server as soon as the channel hangs up, unasked (trace 07b).
        await self.channel.ended.wait()
        if not self.hangup_sent:
            self.hangup_sent = True
            self.send("HANGUP\n")
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()

    @property
    def dead(self) -> bool:
        return self.channel.hangup_requested or self.channel.gone

    async def execute(self, command: str) -> None:
        channel = self.channel
        command_id = str(random.randint(1, 2**31 - 1))
        channel.emit("AGIExecStart", "agi", [("CommandId", command_id), ("Command", command)])
        reply = await self.reply_to(command)
        self.send(reply)
        code = reply[:3]
        if reply.startswith("200") and "result=-1" in reply and "endpos" in reply:
            result_code, result = "-1", "Failure"
        else:
            result_code, result = code, _RESULT_TEXT.get(code, "Success")
        channel.emit(
            "AGIExecEnd",
            "agi",
            [
                ("CommandId", command_id),
                ("Command", command),
                ("ResultCode", result_code),
                ("Result", result),
            ],
        )

    async def reply_to(self, command: str) -> str:
        words = command.split()
        upper = [w.upper() for w in words]
        handlers = [
            (["ANSWER"], self.answer),
            (["VERBOSE"], self.verbose),
            (["GET", "FULL", "VARIABLE"], self.get_full_variable),
            (["GET", "VARIABLE"], self.get_variable),
            (["SET", "VARIABLE"], self.set_variable),
            (["CHANNEL", "STATUS"], self.channel_status),
            (["EXEC"], self.exec_app),
            (["HANGUP"], self.hangup),
            (["STREAM", "FILE"], self.stream_file),
            (["GET", "DATA"], self.get_data),
            (["WAIT", "FOR", "DIGIT"], self.wait_for_digit),
        ]
        for prefix, handler in handlers:
            if upper[: len(prefix)] == prefix:
                rest = command.split(None, len(prefix))
                argument = rest[len(prefix)] if len(rest) > len(prefix) else ""
                return await handler(argument)
        return "510 Invalid or unknown command\n"

    async def answer(self, argument: str) -> str:
        if self.dead:
            return DEAD_CHANNEL + "\n"
        if self.channel.state != STATE_UP:
            self.channel.set_state(STATE_UP)
        return "200 result=0\n"

    async def verbose(self, argument: str) -> str:
        return "200 result=1\n"

    async def get_variable(self, argument: str) -> str:
        from telephony.pbxsim.applications import lookup

        value = lookup(self.channel, argument.strip())
        return f"200 result=1 ({value})\n" if value else "200 result=0\n"

    async def get_full_variable(self, argument: str) -> str:
        from telephony.pbxsim.applications import expand

        return f"200 result=1 ({expand(self.channel, argument.strip())})\n"

    async def set_variable(self, argument: str) -> str:
        name, _, value = argument.partition(" ")
        value = value.strip()
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        self.channel.set_variable(name, value)
        return "200 result=1\n"

    async def channel_status(self, argument: str) -> str:
        return f"200 result={self.channel.state}\n"

    async def hangup(self, argument: str) -> str:
        self.channel.request_hangup()
        return "200 result=1\n"

    async def exec_app(self, argument: str) -> str:
        from telephony.pbxsim.applications import APPLICATIONS, Jump

        name, _, data = argument.partition(" ")
        app = APPLICATIONS.get(name.lower())
        if app is None:
            return "200 result=-2\n"
        channel = self.channel
        saved = (channel.context, channel.exten, channel.priority)
        try:
            await app(channel, data.strip().strip('"'))
        except Jump:
            # A Goto inside AGI takes effect when the AGI ends (trace 14).
            self.goto = (channel.context, channel.exten, channel.priority)
            channel.context, channel.exten, channel.priority = saved
        except HungUp:
            pass
        return "200 result=0\n"

    async def stream_file(self, argument: str) -> str:
        if self.dead:
            return DEAD_CHANNEL + "\n"
        args = split_quoted(argument)
        name = args[0] if args else ""
        escape = args[1] if len(args) > 1 else ""
        samples = self.channel.pbx.sound_files.get(name)
        if samples is None:
            self.failed = True
            return "200 result=-1 endpos=0\n"
        digit = await self._play(samples, escape)
        if not self.dead:
            self.channel.set_variable("PLAYBACKSTATUS", "SUCCESS")
        if digit:
            return f"200 result={ord(digit)} endpos={samples}\n"
        return f"200 result=0 endpos={samples}\n"

    async def _play(self, samples: int, escape: str) -> str:
        """Play a prompt; a digit in `escape` stops it. Returns that digit or ''."""
        return await self._read_digit(samples / SAMPLE_RATE, escape)

    async def _read_digit(self, seconds: float, accept: str = "0123456789*#") -> str:
        channel = self.channel
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds / channel.pbx.clock.time_scale
        while not self.dead:
            while not channel.digits.empty():
                digit = channel.digits.get_nowait()
                if digit in accept:
                    return digit
            remaining = deadline - loop.time()
            if remaining <= 0:
                return ""
            channel.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(channel.wakeup.wait(), remaining)
        return ""

    async def get_data(self, argument: str) -> str:
        args = argument.split()
        if not args:
            return GET_DATA_USAGE
        if self.dead:
            return DEAD_CHANNEL + "\n"
        name = args[0]
        timeout = int(args[1]) / 1000 if len(args) > 1 else 6.0
        max_digits = int(args[2]) if len(args) > 2 else 1024
        samples = self.channel.pbx.sound_files.get(name)
        if samples is None:
            return "200 result=-1\n"
        digits = await self._play(samples, "0123456789*#")
        while len(digits) < max_digits:
            digit = await self._read_digit(timeout)
            if not digit or digit == "#":
                break
            digits += digit
        if not digits:
            return "200 result= (timeout)\n"
        return f"200 result={digits}\n"

    async def wait_for_digit(self, argument: str) -> str:
        if self.dead:
            return DEAD_CHANNEL + "\n"
        timeout_ms = int(argument.strip() or "-1")
        seconds = 86400.0 if timeout_ms < 0 else timeout_ms / 1000
        digit = await self._read_digit(seconds)
        return f"200 result={ord(digit) if digit else 0}\n"


_RESULT_TEXT = {
    "200": "Success",
    "510": "Invalid or unknown command",
    "511": "Command Not Permitted on a dead channel or intercept routine",
    "520": "Usage",
}


def split_quoted(text: str) -> list[str]:
    """AGI command arguments: words, or double-quoted strings (quotes removed)."""
    args: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    for char in text:
        if char == '"':
            quoted = not quoted
            started = True
        elif char == " " and not quoted:
            if started:
                args.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        args.append("".join(current))
    return args


def agi_headers(channel: Channel, url: str, script: str, args: list[str]) -> str:
    tech = channel.name.split("/", 1)[0]
    lines = [
        ("agi_network", "yes"),
        ("agi_network_script", script),
        ("agi_request", url),
        ("agi_channel", channel.name),
        ("agi_language", "en"),
        ("agi_type", tech),
        ("agi_uniqueid", channel.uniqueid),
        ("agi_version", AGI_VERSION),
        ("agi_callerid", channel.cid_num or "unknown"),
        ("agi_calleridname", channel.cid_name or "unknown"),
        ("agi_callingpres", "0"),
        ("agi_callingani2", "0"),
        ("agi_callington", "0"),
        ("agi_callingtns", "0"),
        ("agi_dnid", "unknown"),
        ("agi_rdnis", "unknown"),
        ("agi_context", channel.context),
        ("agi_extension", channel.exten),
        ("agi_priority", str(channel.priority)),
        ("agi_enhanced", "0.0"),
        ("agi_accountcode", ""),
        ("agi_threadid", str(id(channel))),
    ]
    lines += [(f"agi_arg_{n}", arg) for n, arg in enumerate(args, start=1)]
    return "".join(f"{key}: {value}\n" for key, value in lines) + "\n"


async def agi(channel: Channel, data: str) -> None:
    """AGI(agi://host[:port]/script[?query][,arg1[,arg2...]])."""
    args = split_args(data)
    url = args[0].strip()
    parts = urlsplit(url)
    if parts.scheme != "agi" or not parts.hostname:
        raise HungUp(f"AGI({data}): only agi:// FastAGI URLs are emulated")
    address = (parts.hostname, parts.port or 4573)
    host, port = channel.pbx.agi_redirect.get(address, address)
    script = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        channel.set_variable("AGISTATUS", "FAILURE")
        return
    session = AGISession(channel, reader, writer)
    writer.write(agi_headers(channel, url, script, args[1:]).encode())
    try:
        await session.run()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    if session.goto is not None:
        # Asterisk moves the channel to the Goto's target minus one priority, which it
        # publishes as a Newexten of the still-running AGI (trace 14); the loop then steps on.
        context, exten, priority = session.goto
        channel.context, channel.exten, channel.priority = context, exten, priority - 1
        channel.emit(
            "Newexten",
            "dialplan",
            [("Extension", exten), ("Application", "AGI"), ("AppData", data)],
        )
        channel.redirect_to = session.goto
    if channel.hangup_requested or channel.gone:
        channel.set_variable("AGISTATUS", "HANGUP")
        channel.check()
    channel.set_variable("AGISTATUS", "FAILURE" if session.failed else "SUCCESS")
