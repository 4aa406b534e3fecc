"""Typed AMI events (pydantic v2), built from parsed :class:`~telephony.ami.parser.Message`.

Each model names Asterisk's headers as aliases, so pydantic's Rust core does the whole
conversion (strings to int/bool/float) in one ``model_validate`` call: measured cheaper than
``model_construct`` (a Python loop) or frozen dataclasses with Python-side conversion.

Field names follow Asterisk 22 as seen in the recorded traces (``../shared/asterisk-traces``).
``QueueCallerAbandon.hold_time`` is the number of SECONDS the caller waited (the code sends
seconds although Asterisk's documentation calls it an epoch).

An event with no model here becomes a :class:`GenericEvent` holding every header: unknown
events pass through, never crash. A typed event whose field cannot be converted (say
``Position: x``) also becomes a :class:`GenericEvent`, with the problem in ``problems``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, ValidationError

from telephony.ami.parser import Message

_CONFIG = ConfigDict(frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True)


class Event(BaseModel):
    """Headers every event may carry."""

    model_config = _CONFIG
    typed: ClassVar[bool] = True

    name: str = Field(alias="Event")
    privilege: str = Field("", alias="Privilege")
    system_name: str = Field("", alias="SystemName")
    action_id: str = Field("", alias="ActionID")


class GenericEvent(Event):
    """An event without a model (or whose fields did not convert): every header as text.

    Its headers are parsed only when first asked for (``fields``, ``get``...): a catch-all
    listener that looks at ``name`` alone costs no parsing.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        arbitrary_types_allowed=True,
    )
    typed: ClassVar[bool] = False

    message: Annotated[Message, SkipValidation] = Field(exclude=True, repr=False)
    validation_problems: Annotated[list[str], SkipValidation] = Field(default_factory=list)

    @property
    def fields(self) -> dict[str, str]:
        return self.message.fields

    @property
    def variables(self) -> dict[str, dict[str, str]]:
        return self.message.variables

    @property
    def problems(self) -> list[str]:
        """Fields that did not convert, then malformed lines."""
        return self.validation_problems + self.message.problems

    def get(self, header: str, default: str = "") -> str:
        return self.message.fields.get(header, default)


# --- shared field groups -------------------------------------------------------------------


class ChannelEvent(Event):
    """An event about one channel: Asterisk's channel snapshot headers."""

    channel: str = Field("", alias="Channel")
    channel_state: int = Field(0, alias="ChannelState")
    channel_state_desc: str = Field("", alias="ChannelStateDesc")
    caller_id_num: str = Field("", alias="CallerIDNum")
    caller_id_name: str = Field("", alias="CallerIDName")
    connected_line_num: str = Field("", alias="ConnectedLineNum")
    connected_line_name: str = Field("", alias="ConnectedLineName")
    language: str = Field("", alias="Language")
    account_code: str = Field("", alias="AccountCode")
    context: str = Field("", alias="Context")
    exten: str = Field("", alias="Exten")
    priority: int = Field(0, alias="Priority")
    uniqueid: str = Field("", alias="Uniqueid")
    linkedid: str = Field("", alias="Linkedid")
    variables: dict[str, str] = Field(default_factory=dict, alias="ChanVariable")


class DestChannelFields(BaseModel):
    """The second channel of a two-channel event (``Dest*`` headers)."""

    model_config = _CONFIG

    dest_channel: str = Field("", alias="DestChannel")
    dest_channel_state: int = Field(0, alias="DestChannelState")
    dest_caller_id_num: str = Field("", alias="DestCallerIDNum")
    dest_caller_id_name: str = Field("", alias="DestCallerIDName")
    dest_context: str = Field("", alias="DestContext")
    dest_exten: str = Field("", alias="DestExten")
    dest_uniqueid: str = Field("", alias="DestUniqueid")
    dest_linkedid: str = Field("", alias="DestLinkedid")
    dest_variables: dict[str, str] = Field(default_factory=dict, alias="DestChanVariable")


class BridgeFields(BaseModel):
    """Asterisk's bridge snapshot headers."""

    model_config = _CONFIG

    bridge_uniqueid: str = Field("", alias="BridgeUniqueid")
    bridge_type: str = Field("", alias="BridgeType")
    bridge_technology: str = Field("", alias="BridgeTechnology")
    bridge_creator: str = Field("", alias="BridgeCreator")
    bridge_name: str = Field("", alias="BridgeName")
    bridge_num_channels: int = Field(0, alias="BridgeNumChannels")


class MemberStateFields(BaseModel):
    """A queue member's state: the headers the QueueMember* events and QueueStatus's
    ``QueueMember`` list items share (they differ only in naming the member)."""

    model_config = _CONFIG

    queue: str = Field(alias="Queue")
    state_interface: str = Field("", alias="StateInterface")
    membership: str = Field("", alias="Membership")
    penalty: int = Field(0, alias="Penalty")
    calls_taken: int = Field(0, alias="CallsTaken")
    last_call: int = Field(0, alias="LastCall")
    last_pause: int = Field(0, alias="LastPause")
    login_time: int = Field(0, alias="LoginTime")
    in_call: bool = Field(False, alias="InCall")
    status: int = Field(0, alias="Status")
    paused: bool = Field(False, alias="Paused")
    paused_reason: str = Field("", alias="PausedReason")
    wrapuptime: int = Field(0, alias="Wrapuptime")


class QueueMemberFields(MemberStateFields):
    """A queue member's state as the QueueMember* events carry it."""

    member_name: str = Field("", alias="MemberName")
    interface: str = Field(alias="Interface")
    ringinuse: bool = Field(False, alias="Ringinuse")


# --- channels --------------------------------------------------------------------------------


class Newchannel(ChannelEvent):
    pass


class Newstate(ChannelEvent):
    pass


class NewCallerid(ChannelEvent):
    cid_calling_pres: str = Field("", alias="CID-CallingPres")


class Hangup(ChannelEvent):
    cause: int = Field(0, alias="Cause")
    cause_txt: str = Field("", alias="Cause-txt")


class VarSet(ChannelEvent):
    variable: str = Field(alias="Variable")
    value: str = Field("", alias="Value")


class UserEvent(ChannelEvent):
    """``UserEvent`` from the dialplan or the UserEvent action; its own headers in ``headers``."""

    model_config = ConfigDict(
        frozen=True, extra="allow", validate_by_name=True, validate_by_alias=True
    )

    user_event: str = Field(alias="UserEvent")

    @property
    def headers(self) -> dict[str, Any]:
        """The headers this model has no field for (the user's own, like ``Ticket``)."""
        return dict(self.model_extra or {})


class DTMFBegin(ChannelEvent):
    digit: str = Field(alias="Digit")
    direction: str = Field("", alias="Direction")


class DTMFEnd(ChannelEvent):
    digit: str = Field(alias="Digit")
    direction: str = Field("", alias="Direction")
    duration_ms: int = Field(0, alias="DurationMs")


class DialBegin(ChannelEvent, DestChannelFields):
    dial_string: str = Field("", alias="DialString")


class DialState(ChannelEvent, DestChannelFields):
    dial_status: str = Field("", alias="DialStatus")


class DialEnd(ChannelEvent, DestChannelFields):
    dial_status: str = Field("", alias="DialStatus")


# --- bridges ---------------------------------------------------------------------------------


class BridgeCreate(Event, BridgeFields):
    pass


class BridgeDestroy(Event, BridgeFields):
    pass


class BridgeEnter(ChannelEvent, BridgeFields):
    swap_uniqueid: str = Field("", alias="SwapUniqueid")


class BridgeLeave(ChannelEvent, BridgeFields):
    pass


class BlindTransfer(Event, BridgeFields):
    result: str = Field("", alias="Result")
    is_external: bool = Field(False, alias="IsExternal")
    context: str = Field("", alias="Context")
    extension: str = Field("", alias="Extension")
    transferer_channel: str = Field("", alias="TransfererChannel")
    transferer_uniqueid: str = Field("", alias="TransfererUniqueid")
    transferee_channel: str = Field("", alias="TransfereeChannel")
    transferee_uniqueid: str = Field("", alias="TransfereeUniqueid")


class AttendedTransfer(Event):
    result: str = Field("", alias="Result")
    is_external: bool = Field(False, alias="IsExternal")
    dest_type: str = Field("", alias="DestType")
    dest_bridge_uniqueid: str = Field("", alias="DestBridgeUniqueid")
    orig_bridge_uniqueid: str = Field("", alias="OrigBridgeUniqueid")
    second_bridge_uniqueid: str = Field("", alias="SecondBridgeUniqueid")
    orig_transferer_channel: str = Field("", alias="OrigTransfererChannel")
    orig_transferer_uniqueid: str = Field("", alias="OrigTransfererUniqueid")
    second_transferer_channel: str = Field("", alias="SecondTransfererChannel")
    second_transferer_uniqueid: str = Field("", alias="SecondTransfererUniqueid")
    transferee_channel: str = Field("", alias="TransfereeChannel")
    transferee_uniqueid: str = Field("", alias="TransfereeUniqueid")
    transfer_target_channel: str = Field("", alias="TransferTargetChannel")
    transfer_target_uniqueid: str = Field("", alias="TransferTargetUniqueid")


# --- queues ----------------------------------------------------------------------------------


class QueueCallerJoin(ChannelEvent):
    queue: str = Field(alias="Queue")
    position: int = Field(alias="Position")
    count: int = Field(0, alias="Count")


class QueueCallerLeave(ChannelEvent):
    queue: str = Field(alias="Queue")
    position: int = Field(0, alias="Position")
    count: int = Field(0, alias="Count")


class QueueCallerAbandon(ChannelEvent):
    queue: str = Field(alias="Queue")
    position: int = Field(0, alias="Position")
    original_position: int = Field(0, alias="OriginalPosition")
    hold_time: int = Field(0, alias="HoldTime")  # seconds waited, as Asterisk 22 sends it


class AgentEvent(ChannelEvent, DestChannelFields):
    """Agent* events: ``Channel`` is the caller, ``Dest*`` the member's leg."""

    queue: str = Field(alias="Queue")
    interface: str = Field("", alias="Interface")
    member_name: str = Field("", alias="MemberName")


class AgentCalled(AgentEvent):
    pass


class AgentConnect(AgentEvent):
    hold_time: int = Field(0, alias="HoldTime")
    ring_time: int = Field(0, alias="RingTime")


class AgentComplete(AgentEvent):
    hold_time: int = Field(0, alias="HoldTime")
    talk_time: int = Field(0, alias="TalkTime")
    reason: str = Field("", alias="Reason")


class AgentRingNoAnswer(AgentEvent):
    ring_time: int = Field(0, alias="RingTime")


class AgentDump(AgentEvent):
    pass


class QueueMemberStatus(Event, QueueMemberFields):
    pass


class QueueMemberAdded(Event, QueueMemberFields):
    pass


class QueueMemberRemoved(Event, QueueMemberFields):
    pass


class QueueMemberPause(Event, QueueMemberFields):
    pass


class QueueMemberPenalty(Event, QueueMemberFields):
    pass


class QueueMemberRinginuse(Event, QueueMemberFields):
    pass


# --- conferences -----------------------------------------------------------------------------


class ConfbridgeStart(Event, BridgeFields):
    conference: str = Field(alias="Conference")


class ConfbridgeEnd(Event, BridgeFields):
    conference: str = Field(alias="Conference")


class ConfbridgeJoin(ChannelEvent, BridgeFields):
    conference: str = Field(alias="Conference")
    admin: bool = Field(False, alias="Admin")
    muted: bool = Field(False, alias="Muted")


class ConfbridgeLeave(ChannelEvent, BridgeFields):
    conference: str = Field(alias="Conference")
    admin: bool = Field(False, alias="Admin")


# --- originate -------------------------------------------------------------------------------


class OriginateResponse(Event):
    """Outcome of an ``Async: true`` Originate; ``ActionID`` is the action's."""

    response: str = Field(alias="Response")  # "Success" or "Failure"
    channel: str = Field("", alias="Channel")
    context: str = Field("", alias="Context")
    exten: str = Field("", alias="Exten")
    application: str = Field("", alias="Application")
    data: str = Field("", alias="Data")
    reason: int = Field(0, alias="Reason")
    uniqueid: str = Field("", alias="Uniqueid")  # "<unknown>" when no channel was made
    caller_id_num: str = Field("", alias="CallerIDNum")
    caller_id_name: str = Field("", alias="CallerIDName")
    # from the "ChanVariable(<channel>): NAME=value" lines
    variables: dict[str, str] = Field(default_factory=dict, alias="ChanVariable")

    @property
    def success(self) -> bool:
        return self.response == "Success"


# --- list items (replies to QueueStatus, CoreShowChannels, ...) ------------------------------


class QueueParams(Event):
    queue: str = Field(alias="Queue")
    max: int = Field(0, alias="Max")
    strategy: str = Field("", alias="Strategy")
    calls: int = Field(0, alias="Calls")
    holdtime: int = Field(0, alias="Holdtime")
    talk_time: int = Field(0, alias="TalkTime")
    completed: int = Field(0, alias="Completed")
    abandoned: int = Field(0, alias="Abandoned")
    service_level: int = Field(0, alias="ServiceLevel")
    service_level_perf: float = Field(0.0, alias="ServicelevelPerf")
    service_level_perf2: float = Field(0.0, alias="ServicelevelPerf2")
    weight: int = Field(0, alias="Weight")


class QueueMember(Event, MemberStateFields):
    member_name: str = Field("", alias="Name")
    location: str = Field(alias="Location")  # the interface


class QueueEntry(Event):
    queue: str = Field(alias="Queue")
    position: int = Field(alias="Position")
    channel: str = Field("", alias="Channel")
    uniqueid: str = Field("", alias="Uniqueid")
    caller_id_num: str = Field("", alias="CallerIDNum")
    caller_id_name: str = Field("", alias="CallerIDName")
    connected_line_num: str = Field("", alias="ConnectedLineNum")
    connected_line_name: str = Field("", alias="ConnectedLineName")
    wait: int = Field(0, alias="Wait")  # seconds waited so far
    priority: int = Field(0, alias="Priority")


class QueueSummary(Event):
    queue: str = Field(alias="Queue")
    logged_in: int = Field(0, alias="LoggedIn")
    available: int = Field(0, alias="Available")
    callers: int = Field(0, alias="Callers")
    hold_time: int = Field(0, alias="HoldTime")
    talk_time: int = Field(0, alias="TalkTime")
    longest_hold_time: int = Field(0, alias="LongestHoldTime")


class CoreShowChannel(ChannelEvent):
    application: str = Field("", alias="Application")
    application_data: str = Field("", alias="ApplicationData")
    duration: str = Field("", alias="Duration")  # "HH:MM:SS"
    bridge_id: str = Field("", alias="BridgeId")


class ConfbridgeList(ChannelEvent):
    conference: str = Field(alias="Conference")
    admin: bool = Field(False, alias="Admin")
    muted: bool = Field(False, alias="Muted")
    talking: bool = Field(False, alias="Talking")


class ListComplete(Event):
    """The ``...Complete`` event closing a list reply."""

    event_list: str = Field("", alias="EventList")
    list_items: int = Field(0, alias="ListItems")


class QueueStatusComplete(ListComplete):
    pass


class QueueSummaryComplete(ListComplete):
    pass


class CoreShowChannelsComplete(ListComplete):
    pass


class ConfbridgeListComplete(ListComplete):
    pass


def _registry() -> dict[str, type[Event]]:
    concrete: list[type[Event]] = [
        Newchannel, Newstate, NewCallerid, Hangup, VarSet, UserEvent, DTMFBegin, DTMFEnd,
        DialBegin, DialState, DialEnd,
        BridgeCreate, BridgeDestroy, BridgeEnter, BridgeLeave, BlindTransfer, AttendedTransfer,
        QueueCallerJoin, QueueCallerLeave, QueueCallerAbandon,
        AgentCalled, AgentConnect, AgentComplete, AgentRingNoAnswer, AgentDump,
        QueueMemberStatus, QueueMemberAdded, QueueMemberRemoved, QueueMemberPause,
        QueueMemberPenalty, QueueMemberRinginuse,
        ConfbridgeStart, ConfbridgeEnd, ConfbridgeJoin, ConfbridgeLeave,
        OriginateResponse,
        QueueParams, QueueMember, QueueEntry, QueueSummary, CoreShowChannel, ConfbridgeList,
        QueueStatusComplete, QueueSummaryComplete, CoreShowChannelsComplete,
        ConfbridgeListComplete,
    ]  # fmt: skip
    return {model.__name__: model for model in concrete}


EVENT_TYPES: dict[str, type[Event]] = _registry()


def to_event(message: Message, name: str | None = None) -> Event:
    """The typed event for a message (``name``: its event name, if known); never raises."""
    if name is None:
        name = message.event or ""
    model = EVENT_TYPES.get(name)
    if model is None:
        return _generic(message, [])  # headers stay unparsed until someone asks
    headers = message.headers
    fields = headers.fields
    data = {**fields, **headers.variables} if headers.variables else fields
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{name}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})"
            for e in error.errors()
        ]
        return _generic(message, problems)


def _generic(message: Message, problems: list[str]) -> GenericEvent:
    return GenericEvent(
        name=message.event or "",
        privilege=message.peek("Privilege"),
        system_name=message.peek("SystemName"),
        action_id=message.peek("ActionID"),
        message=message,
        validation_problems=problems,
    )
