"""DTMF from channel to channel.

A digit received on a channel (DTMFBegin/DTMFEnd, Direction Received) is read there: by the
application's digit queue (a ConfBridge menu, Read-like AGI commands), by an attended
transfer collecting its number, or by the bridge's feature matching (features.py). In a
two-party bridge a digit no feature takes is passed on (bridge_channel.c bridge_handle_trip:
basic bridges pass DTMF through): written to the bridged peer (Direction Sent), which carries
it to its other end — the other half of a Local pair, or the far PBX's channel of an IAX2
trunk call — where it is received again. A feature code's prefix that then fails to match is
streamed to the peer as plain digits (ast_dtmf_stream: no Sent events, 100 ms each).
ConfBridge rooms do not pass DTMF between members (user profile `dtmf_passthrough`, off by
default).

No trace shows DTMF crossing a bridge (in traces 05b and 09 every digit is a feature's); this
follows Asterisk's source and is listed as unverified in docs/pbxsim.md.
"""

from __future__ import annotations

from telephony.pbxsim.channels import Channel

# ast_senddigit's duration for a digit streamed without one (AST_DEFAULT_EMULATE_DTMF_DURATION).
STREAM_DURATION_MS = 100


def receive(channel: Channel, digit: str, duration_ms: int, begin: bool = True) -> None:
    """`digit` arrives on `channel`. `begin=False` is a digit queued as an END frame only
    (PlayDTMF Receive, Atxfer: DTMFEnd alone with DurationMs 0, traces 05b, 09b)."""
    if begin:
        channel.emit("DTMFBegin", "dtmf", [("Digit", digit), ("Direction", "Received")])
        if channel.in_answer_wait:
            # Answer()'s wait for media reads the frame, ends, and puts the frame back at
            # the head of the queue: the next application reads the Begin again, and the End
            # is not published (trace 15).
            channel.in_answer_wait = False
            channel.wakeup.set()
            channel.pending_dtmf_begin = digit
            return
    channel.emit(
        "DTMFEnd",
        "dtmf",
        [("Digit", digit), ("DurationMs", str(duration_ms)), ("Direction", "Received")],
    )
    _read(channel, digit, duration_ms, begin)


def _read(channel: Channel, digit: str, duration_ms: int, begin: bool) -> None:
    from telephony.pbxsim.features import feature_digit

    channel.digits.put_nowait(digit)
    channel.wakeup.set()
    passed = feature_digit(channel, digit)
    if passed == digit:
        peer = _bridged_peer(channel)
        if peer is not None:
            write(peer, digit, duration_ms, begin)
    elif passed:
        stream_to_peer(channel, passed)


def stream_to_peer(channel: Channel, digits: str) -> None:
    """Digits a feature held and then let go, played to the bridged peer as a stream
    (bridge_channel_write_dtmf_stream: ast_senddigit on the peer, no Sent events)."""
    peer = _bridged_peer(channel)
    if peer is not None:
        for digit in digits:
            send(peer, digit, STREAM_DURATION_MS)


def write(channel: Channel, digit: str, duration_ms: int, begin: bool = True) -> None:
    """ast_write() of a DTMF frame on `channel` (Direction Sent); its other end receives it."""
    if begin:
        channel.emit("DTMFBegin", "dtmf", [("Digit", digit), ("Direction", "Sent")])
    channel.emit(
        "DTMFEnd",
        "dtmf",
        [("Digit", digit), ("DurationMs", str(duration_ms)), ("Direction", "Sent")],
    )
    send(channel, digit, duration_ms, begin)


def send(channel: Channel, digit: str, duration_ms: int, begin: bool = True) -> None:
    """ast_senddigit() on `channel`: a Local half hands the digit to its other half, an IAX2
    channel to the far PBX's channel; a phone (PJSIP) plays it to its user."""
    other = channel.peer
    if other is not None and not other.gone:
        receive(other, digit, duration_ms, begin)


def _bridged_peer(channel: Channel) -> Channel | None:
    bridge = channel.bridge
    if bridge is None or not bridge.passes_dtmf:
        return None
    peer = bridge.peer_of(channel)
    return None if peer is None or peer.gone else peer
