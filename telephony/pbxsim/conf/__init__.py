"""The emulated PBX's configuration: Asterisk `.conf` files and the dialplan language.

Synchronous and pure (no asyncio, no sockets); the runtime executes what this describes.
The supported subset and what is refused: docs/pbxsim-config.md.

Loading::

    config = load_pbx_config("lab-config/pbx-1")   # raises ConfigError("file:line: ...")
    config.dialplan / .queues / .features / .manager / .confbridge / .iax
    config.warnings        # "file:line: ..." references to missing contexts, queues, ...

Dialplan (extensions.conf)::

    ext = config.dialplan.find("agents", "agent101")          # Extension | None
    ext.priority(1) / ext.label("fallback")                    # Priority | None
    p.app, p.args, p.where                                     # "Queue", "q12345,tT", file:line
    config.dialplan.next_priority(p, dialled_exten)            # n+1, None = end of the call
    config.dialplan.exists("inbound", "110", 1)                # ast_exists_extension()
    config.dialplan.locate(parse_goto_target(text, ctx, exten), current_priority)
    config.dialplan.globals                                    # [globals]

Running one priority (the runtime's loop)::

    text = substitute(p.args, resolve_var, call_function, warn)   # ${...}, $[...]
    # resolve_var(name) -> str | None; call_function(name, args) -> str for CALLERID,
    # CHANNEL, IAXVAR (CUT, LEN, IF, ISNULL, EXISTS are computed here)
    split_app_args(text)                      # Asterisk's comma/quote/paren/backslash rules
    condition, yes, no = split_gotoif(text);  check_condition(condition)
    parse_goto_target(text, context, exten)   # GotoTarget(context, exten, priority, label)
    parse_gosub(text, context, exten)         # (GotoTarget, [ARG1, ...])
    parse_set(text)                           # SetAssignment(name, value, inheritance, function)
    inherited_level(assignment.inheritance)   # what a child channel gets: 2 -> 2, 1 -> 0, 0 -> None
    parse_queue_args / parse_agi_args / parse_dial_args / parse_confbridge_args /
    parse_user_event_args                     # typed views; ArgumentError on bad input
    evaluate_expression("1 + 2")              # "3"; ExpressionError on bad input

Patterns: extension_matches("_age[n]t.", "agent101"), compare_extensions(a, b).
"""

from .applications import SUPPORTED_APPLICATIONS, SUPPORTED_QUEUE_OPTIONS, canonical_application
from .arguments import (
    AgiCall,
    ArgumentError,
    ConfBridgeCall,
    DialCall,
    GotoTarget,
    QueueCall,
    SetAssignment,
    inherited_level,
    parse_agi_args,
    parse_confbridge_args,
    parse_dial_args,
    parse_gosub,
    parse_goto_target,
    parse_queue_args,
    parse_set,
    parse_user_event_args,
    split_app_args,
    split_gotoif,
)
from .confbridge import BridgeProfile, ConfBridgeConfig, Menu, MenuAction, UserProfile
from .dialplan import Context, Dialplan, Extension, Priority, load_dialplan
from .errors import ConfigError, Where
from .expressions import ExpressionError, check_condition, evaluate_expression
from .features import ApplicationFeature, Features
from .functions import CHANNEL_FUNCTIONS, PURE_FUNCTIONS, SUPPORTED_FUNCTIONS
from .iax import IaxConfig, IaxEndpoint
from .manager import ManagerConfig, ManagerUser
from .patterns import compare_extensions, extension_matches, is_pattern
from .pbx import PbxConfig, load_pbx_config
from .queues import QueueConfig, QueueMember, QueuesConfig
from .reader import ConfFile, ConfItem, ConfSection, read_conf
from .substitution import substitute, substring

__all__ = [
    "CHANNEL_FUNCTIONS",
    "PURE_FUNCTIONS",
    "SUPPORTED_APPLICATIONS",
    "SUPPORTED_FUNCTIONS",
    "SUPPORTED_QUEUE_OPTIONS",
    "AgiCall",
    "ApplicationFeature",
    "ArgumentError",
    "BridgeProfile",
    "ConfBridgeCall",
    "ConfBridgeConfig",
    "ConfFile",
    "ConfItem",
    "ConfSection",
    "ConfigError",
    "Context",
    "DialCall",
    "Dialplan",
    "ExpressionError",
    "Extension",
    "Features",
    "GotoTarget",
    "IaxConfig",
    "IaxEndpoint",
    "ManagerConfig",
    "ManagerUser",
    "Menu",
    "MenuAction",
    "PbxConfig",
    "Priority",
    "QueueCall",
    "QueueConfig",
    "QueueMember",
    "QueuesConfig",
    "SetAssignment",
    "UserProfile",
    "Where",
    "canonical_application",
    "check_condition",
    "compare_extensions",
    "evaluate_expression",
    "extension_matches",
    "inherited_level",
    "is_pattern",
    "load_dialplan",
    "load_pbx_config",
    "parse_agi_args",
    "parse_confbridge_args",
    "parse_dial_args",
    "parse_gosub",
    "parse_goto_target",
    "parse_queue_args",
    "parse_set",
    "parse_user_event_args",
    "read_conf",
    "split_app_args",
    "split_gotoif",
    "substitute",
    "substring",
]
