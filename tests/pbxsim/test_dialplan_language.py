"""Substitution, functions, `$[...]` expressions and application arguments."""

from __future__ import annotations

import re

import pytest

from telephony.pbxsim.conf import (
    ArgumentError,
    ExpressionError,
    GotoTarget,
    check_condition,
    evaluate_expression,
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
    substitute,
)

# The GotoIf of [inbound] 12345 in the lab extensions.conf (trace 11), verbatim.
LAB_GOTOIF = (
    '$["${QUEUESTATUS}" = "WITHDRAW" & "${CUT(QUEUE_WITHDRAW_INFO,-,1)}" = "support"]'
    "?inbound,110${CUT(QUEUE_WITHDRAW_INFO,-,2)},1"
)


def unset(name: str) -> str | None:
    return None


def no_functions(name: str, args: str) -> str:
    raise AssertionError(f"unexpected channel function {name}({args})")


def test_lab_gotoif_after_a_withdraw_goes_to_the_county_queue() -> None:
    variables = {"QUEUESTATUS": "WITHDRAW", "QUEUE_WITHDRAW_INFO": "support-370811"}
    text = substitute(LAB_GOTOIF, variables.get, no_functions)
    assert text == "1?inbound,110370811,1"
    condition, when_true, when_false = split_gotoif(text)
    assert check_condition(condition) is True
    assert parse_goto_target(when_true, "inbound", "12345") == GotoTarget("inbound", "110370811", 1)
    assert when_false == ""


def test_lab_gotoif_after_a_timeout_falls_through() -> None:
    variables = {"QUEUESTATUS": "TIMEOUT"}
    text = substitute(LAB_GOTOIF, variables.get, no_functions)
    assert text == "0?inbound,110,1"
    condition, _, when_false = split_gotoif(text)
    assert check_condition(condition) is False and when_false == ""


def test_variables_substrings_and_nesting() -> None:
    variables = {"EXTEN": "conf-777", "NAME": "EXTEN", "N": "3", "EMPTY": ""}
    sub = variables.get
    assert substitute("Joining conference ${EXTEN:5}", sub) == "Joining conference 777"
    assert substitute("${EXTEN:-3}|${EXTEN:0:4}|${EXTEN:1:-2}", sub) == "777|conf|onf-7"
    assert substitute("${EXTEN:20}|${EXTEN:-20}|${EXTEN:2:-20}", sub) == "|conf-777|"
    assert substitute("${${NAME}}", sub) == "conf-777"
    assert substitute("${UNSET}x${EMPTY}y", sub) == "xy"
    assert substitute("$[${N} * 2 + 1]", sub) == "7"
    assert substitute("cost $5 and $ {x}", sub) == "cost $5 and $ {x}"


def test_channel_functions_go_to_the_runtime() -> None:
    calls: list[tuple[str, str]] = []

    def call_function(name: str, args: str) -> str:
        calls.append((name, args))
        return {"CALLERID": "13800000000", "IAXVAR": "LK-9", "CHANNEL": "lab110"}[name]

    text = substitute(
        "handing ${CALLERID(num)} ticket ${IAXVAR(LINKAGE_TICKET)} via ${CHANNEL(peername)}"
        " tail ${CALLERID(num):-4}",
        unset,
        call_function,
    )
    assert text == "handing 13800000000 ticket LK-9 via lab110 tail 0000"
    assert calls[0] == ("CALLERID", "num") and calls[2] == ("CHANNEL", "peername")


def test_channel_function_without_a_resolver_is_an_error() -> None:
    with pytest.raises(ArgumentError, match=r"no resolver for the dialplan function CALLERID\(\)"):
        substitute("${CALLERID(num)}", unset)


def test_pure_functions() -> None:
    variables = {"INFO": "support-370811-x", "CAT": "求助", "EMPTY": ""}
    sub = variables.get
    assert substitute("${CUT(INFO,-,1)}|${CUT(INFO,-,2)}|${CUT(INFO,-,2-)}", sub) == (
        "support|370811|370811-x"
    )
    assert substitute("${CUT(INFO,-,1&3)}|${CUT(INFO,,-2)}|${CUT(INFO,-,9)}", sub) == (
        "support-x|support-370811|"
    )
    assert substitute("${LEN(${CAT})}|${LEN(abc)}|${LEN()}", sub) == "6|3|0"  # UTF-8 bytes
    assert substitute("${IF($[1 = 1]?yes:no)}|${IF(0?yes:no)}|${IF(?yes)}", sub) == "yes|no|"
    assert substitute("${ISNULL(${EMPTY})}${ISNULL(x)}${EXISTS(x)}${EXISTS()}", sub) == "1010"


def test_bad_pure_function_arguments_are_named() -> None:
    with pytest.raises(ArgumentError, match=r"CUT\(X\) must be CUT\(varname,delimiter,fields\)"):
        substitute("${CUT(X)}", unset)
    with pytest.raises(ArgumentError, match="field range 'a' is not"):
        substitute("${CUT(X,-,a)}", {"X": "1-2"}.get)
    with pytest.raises(ArgumentError, match=r"IF\(1\) must be"):
        substitute("${IF(1)}", unset)


def test_expression_problems_follow_asterisk_with_warnings() -> None:
    warnings: list[str] = []
    # a syntax error gives "0" (ast_expr writes "0" when the parse fails); x/0 is INT_MAX
    assert substitute("a$[1 +]b$[1/0]c", unset, warn=warnings.append) == "a0b2147483647c"
    assert len(warnings) == 2 and "division by zero" in warnings[1]


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ('"WITHDRAW" = "WITHDRAW"', "1"),
        ('"a b" = "a b"', "1"),
        ('"" = ""', "1"),
        ('"5" = 5', "0"),  # the quotes are part of the value
        ("abc != abd", "1"),
        ("10 > 9", "1"),  # numbers compare as numbers
        ("10 > 9a", "0"),  # ... and text byte by byte
        ("2 <= 2", "1"),
        ("3 >= 4", "0"),
        ("1 == 1.0", "1"),
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("7 / 2", "3.5"),
        ("10 / 3", "3.33333333333333333"),
        ("7 % 3", "1"),
        ("-5 + 2", "-3"),
        ("5-3", "2"),
        ("1 & 0", "0"),
        ("abc & 2", "abc"),
        ("0 | fallback", "fallback"),
        ('"" | x', '""'),  # a quoted empty text is not empty
        ("first | second", "first"),
        ("1 || 0", "1"),
        ("!0", "1"),
        ("!abc", "1"),  # atoi("abc") is 0
        ("!5", "0"),
        ("1 = 1 & 2 = 2", "1"),
        ("1 = 2 | 3 = 3", "1"),
        ("1 ? yes :: no", "yes"),
        ("0 ? yes :: no", "no"),
        ("abc ? yes :: no", "yes"),
        ("abc123 : abc", "3"),
        ('abc123 : "abc([0-9]+)"', "123"),  # parentheses are operators unless quoted
        ("xabc : abc", "0"),
        ("xabc =~ abc", "3"),
        ('x : "(y)"', ""),
        ('"ab" ~~ cd', "abcd"),
        ('"abc"', '"abc"'),
        ("a + 1", "1"),  # ast_expr2: a non-number in + is dropped
        ("x * 2", "0"),
        ("1 / x", "2147483647"),
        ("5 % 0", "0"),
        ("1 +", "0"),
        ("(1", "0"),
        ("1 2", "0"),
        ('"open', "0"),
        ("1 ? 2", "0"),
        ("", ""),
    ],
)
def test_expressions(expression: str, value: str) -> None:
    assert evaluate_expression(expression) == value


@pytest.mark.parametrize(
    ("expression", "warning"),
    [
        ("1 +", "an operand is missing"),
        ("(1", r"'\(' without '\)'"),
        ("a + 1", "non-numeric argument to '\\+'"),
        ("1 / 0", "division by zero"),
        ('"open', "unterminated quoted string"),
        ('a : "("', "regcomp\\(\\) error"),
    ],
)
def test_expression_warnings(expression: str, warning: str) -> None:
    warnings: list[str] = []
    evaluate_expression(expression, warnings.append)
    assert len(warnings) == 1 and re.search(warning, warnings[0]), warnings


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("LEN(abc) + 1", r"function LEN\(\) inside \$\[\.\.\.\] is not supported"),
        ("a ${X}", "left unsubstituted"),
        ("a { b", "character '{' is not supported"),
    ],
)
def test_expression_constructs_the_emulator_does_not_evaluate(
    expression: str, message: str
) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate_expression(expression)


@pytest.mark.parametrize(
    ("condition", "truth"),
    [
        ("1", True),
        ("0", False),
        ("", False),
        ("  ", True),  # pbx_checkcondition: only "" is empty; sscanf fails, so true
        ("abc", True),
        ("-1", True),
        ("00", False),
        ("2x", True),
        (" 0", False),
    ],
)
def test_check_condition(condition: str, truth: bool) -> None:
    assert check_condition(condition) is truth


@pytest.mark.parametrize(
    ("raw", "args"),
    [
        ("q12345,tT,,,,,onekey-arm", ["q12345", "tT", "", "", "", "", "onekey-arm"]),
        ("a,b,", ["a", "b", ""]),
        ("", []),
        (",", ["", ""]),
        ("AgiResult,Status: FAILURE,Result: x", ["AgiResult", "Status: FAILURE", "Result: x"]),
        ('"a,b",c', ["a,b", "c"]),
        ("a\\,b,c", ["a,b", "c"]),
        ("Gosub(onekey,s,1),x", ["Gosub(onekey,s,1)", "x"]),
        ("[a,b],c", ["[a,b]", "c"]),
        ('say "hi" there', ["say hi there"]),
        ("a\\\\,b", ["a\\", "b"]),
    ],
)
def test_split_app_args(raw: str, args: list[str]) -> None:
    assert split_app_args(raw) == args


def test_split_app_args_can_keep_quotes_and_backslashes() -> None:
    assert split_app_args('"a,b",c\\,d', remove_quotes=False) == ['"a,b"', "c\\,d"]


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("inbound,12345,1", GotoTarget("inbound", "12345", 1)),
        ("12345,1", GotoTarget("cur", "12345", 1)),
        ("3", GotoTarget("cur", "100", 3)),
        ("fallback", GotoTarget("cur", "100", None, "fallback")),
        ("hb-queue,110370800,start", GotoTarget("hb-queue", "110370800", None, "start")),
        ("+2", GotoTarget("cur", "100", 2, None, 1)),
        ("-1", GotoTarget("cur", "100", 1, None, -1)),
        (",s,1", GotoTarget("cur", "s", 1)),
    ],
)
def test_parse_goto_target(text: str, target: GotoTarget) -> None:
    assert parse_goto_target(text, "cur", "100") == target


def test_bad_goto_targets() -> None:
    with pytest.raises(ArgumentError, match="has no priority or label"):
        parse_goto_target("inbound,12345,", "c", "e")
    # sscanf-like priorities; a non-number after +/- is looked up as a label, as in Asterisk
    assert parse_goto_target("+x", "c", "e") == GotoTarget("c", "e", None, "x")
    assert parse_goto_target("a,b, 2", "c", "e") == GotoTarget("a", "b", 2)
    assert parse_goto_target("a,b,label ", "c", "e") == GotoTarget("a", "b", None, "label ")


def test_gotoif_branches() -> None:
    assert split_gotoif("1?fallback") == ("1", "fallback", "")
    assert split_gotoif("0?a,1,1:b,2,1") == ("0", "a,1,1", "b,2,1")
    assert split_gotoif("?:only-false") == ("", "", "only-false")
    with pytest.raises(ArgumentError, match="has no '\\?'"):
        split_gotoif("1")


def test_gosub() -> None:
    target, args = parse_gosub("onekey,s,1", "x", "y")
    assert target == GotoTarget("onekey", "s", 1) and args == []
    target, args = parse_gosub("sub,s,1(a,b c)", "x", "y")
    assert target == GotoTarget("sub", "s", 1) and args == ["a", "b c"]
    with pytest.raises(ArgumentError, match="without a closing"):
        parse_gosub("sub,s,1(a", "x", "y")


def test_set_inheritance_and_function_writes() -> None:
    assert parse_set("CITY_CODE=12345") == parse_set("CITY_CODE=12345")
    plain = parse_set("CITY_CODE=12345")
    assert (plain.name, plain.value, plain.inheritance, plain.function) == (
        "CITY_CODE",
        "12345",
        0,
        None,
    )
    inherit_all = parse_set("__LINKAGE_TICKET=LK-9")
    assert (inherit_all.name, inherit_all.inheritance) == ("LINKAGE_TICKET", 2)
    inherit_one = parse_set("_X=a=b,c")
    assert (inherit_one.name, inherit_one.value, inherit_one.inheritance) == ("X", "a=b,c", 1)
    empty = parse_set("HB_ROUTE=")
    assert (empty.name, empty.value) == ("HB_ROUTE", "")
    function = parse_set("IAXVAR(LINKAGE_TICKET)=LK-9")
    assert (function.function, function.function_args, function.value) == (
        "IAXVAR",
        "LINKAGE_TICKET",
        "LK-9",
    )
    with pytest.raises(ArgumentError, match="must be Set\\(name=value\\)"):
        parse_set("NOVALUE")
    with pytest.raises(ArgumentError, match="the variable name is empty"):
        parse_set("__=x")


def test_inheritance_levels() -> None:
    assert inherited_level(parse_set("__LINKAGE_TICKET=LK-9").inheritance) == 2
    assert inherited_level(parse_set("_ONCE=x").inheritance) == 0
    assert inherited_level(parse_set("LOCAL=x").inheritance) is None


def test_queue_arguments() -> None:
    call = parse_queue_args("q12345,tT,,,,,onekey-arm")
    assert (call.queue, call.options, call.gosub_context, call.timeout) == (
        "q12345",
        "tT",
        "onekey-arm",
        None,
    )
    call = parse_queue_args('q110-city,tTr,,,30,,"arm,a,b"')
    assert (call.timeout, call.gosub_context, call.gosub_args) == (30.0, "arm", ("a", "b"))
    with pytest.raises(ArgumentError, match="needs a queue name"):
        parse_queue_args(",t")
    with pytest.raises(ArgumentError, match="Queue timeout 'x' is not a number"):
        parse_queue_args("q,,,,x")


def test_agi_arguments() -> None:
    call = parse_agi_args("agi://127.0.0.1:4573/route?district=370811,110,370811")
    assert (call.host, call.port, call.script, call.args) == (
        "127.0.0.1",
        4573,
        "route?district=370811",
        ("110", "370811"),
    )
    assert parse_agi_args("agi://bridge/onekey").port == 4573
    with pytest.raises(ArgumentError, match="only FastAGI"):
        parse_agi_args("myscript.sh")
    with pytest.raises(ArgumentError, match="port 'x' is not a number"):
        parse_agi_args("agi://h:x/s")


def test_dial_confbridge_userevent_arguments() -> None:
    dial = parse_dial_args("IAX2/to110/110,30")
    assert (dial.targets, dial.timeout, dial.options) == ((("IAX2", "to110/110"),), 30.0, "")
    assert parse_dial_args("IAX2/a/1&IAX2/b/2").targets == (("IAX2", "a/1"), ("IAX2", "b/2"))
    with pytest.raises(ArgumentError, match="is not Tech/resource"):
        parse_dial_args("nowhere")

    room = parse_confbridge_args("777")
    assert (room.conference, room.bridge_profile, room.user_profile, room.menu) == (
        "777",
        "default_bridge",
        "default_user",
        "default_menu",
    )
    assert parse_confbridge_args("913,hb_bridge,hb_user,hb_menu").menu == "hb_menu"

    name, headers = parse_user_event_args("AgiResult,Status: FAILURE,Result: FAILURE")
    assert name == "AgiResult"
    assert headers == [("Status", "FAILURE"), ("Result", "FAILURE")]
    # app_userevent skips a body part without ':' and keeps the key as written
    assert parse_user_event_args("Ev,novalue, Key:  v ") == ("Ev", [(" Key", "v")])
    with pytest.raises(ArgumentError, match="needs an event name"):
        parse_user_event_args(",Key: v")


def test_bad_function_arguments_at_run_time_warn_and_give_nothing() -> None:
    warnings: list[str] = []
    text = substitute("[${CUT(X,-,a)}] ${LEN(ab)}", {"X": "1-2"}.get, warn=warnings.append)
    assert text == "[] 2"
    assert len(warnings) == 1 and "field range 'a' is not" in warnings[0]
