"""`POST /api/classify` over real HTTP with the shipped rule book and model: the decision with
the rules that fired and the agent's advice, roles, and bad input answered with a 4xx naming
the field. The classifier is loaded once for the module (about two seconds)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.classify_api import ClassifierSource, ClassifyApi, LazyClassifier, add_classify_route
from bridge.commands.run import build_service
from bridge.http import RouteTable, create_app
from bridge.http.auth import TokenBook
from bridge.http.service_routes import add_service_routes
from bridge.ivr_wiring import SCOPE_RULES, install_ivr
from bridge.service import Service
from bridge.settings import ApiToken, Role
from ivr.prompts import IvrConfigError
from routing.scope import ScopeClassifier, load_classifier
from telephony.agi.routes import AgiRoutes
from tests.bridge.test_transfer_orchestration import JINING, SETTINGS

TOKENS = {
    "desk-12345": ("t-desk-12345-0123456789", Role.AGENT_12345, "12345-370800"),
    "desk-110": ("t-desk-110-0123456789ab", Role.AGENT_110, "110-370800"),
    "supervisor": ("t-supervisor-0123456789", Role.SUPERVISOR, None),
    "wallboard": ("t-monitor-0123456789abc", Role.MONITOR, None),
}
Client = TestClient[web.Request, web.Application]


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name][0]}"}


@pytest.fixture(scope="module")
def classifier() -> ScopeClassifier:
    return load_classifier(SCOPE_RULES)


def ready(classifier: ScopeClassifier) -> ClassifierSource:
    async def source() -> ScopeClassifier:
        return classifier

    return source


async def client_for(source: ClassifierSource) -> Client:
    routes = RouteTable()
    add_service_routes(routes)
    add_classify_route(routes, ClassifyApi(source))
    tokens = TokenBook(
        {
            value: ApiToken(name=name, token_env="UNUSED", role=role, platform=platform)
            for name, (value, role, platform) in TOKENS.items()
        }
    )
    service = Service(SETTINGS, JINING, environ={})
    app = create_app(
        routes=routes, tokens=tokens, health=service.components.health, control=service
    )
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def api(classifier: ScopeClassifier) -> AsyncIterator[Client]:
    client = await client_for(ready(classifier))
    yield client
    await client.close()


async def classify(api: Client, body: Any, who: str = "desk-12345") -> tuple[int, Any]:
    response = await api.post("/api/classify", json=body, headers=auth(who))
    return response.status, await response.json()


async def test_danger_is_sent_to_110_as_urgent_with_the_rules_that_fired(api: Client) -> None:
    status, body = await classify(api, {"text": "楼下有人持刀打架，已经有人受伤流血了"})
    assert status == 200
    assert body["platform"] == "110" and body["urgent"] is True
    assert body["advice"] == "建议转110（紧急）"
    assert body["reasons"], "an agent must see why"
    assert all(reason["rule"] and reason["matched"] for reason in body["reasons"])
    assert set(body) == {
        "platform",
        "channel",
        "kind",
        "urgent",
        "district",
        "confidence",
        "advice",
        "reasons",
        "notes",
    }


async def test_a_consultation_stays_with_12345(api: Client) -> None:
    status, body = await classify(api, {"text": "请问办理居住证需要带哪些材料？", "kind": "咨询"})
    assert status == 200
    assert (body["platform"], body["kind"], body["urgent"]) == ("12345", "咨询", False)
    assert body["advice"] == "建议由12345受理"


async def test_the_answer_is_the_classifiers_decision(
    api: Client, classifier: ScopeClassifier
) -> None:
    text = "邻居家装修噪音太大，晚上十一点还在施工"
    status, body = await classify(api, {"text": text}, who="desk-110")
    expected = classifier.classify(text).to_dict()
    assert status == 200
    assert {k: v for k, v in body.items() if k != "advice"} == expected


@pytest.mark.parametrize("who", ["desk-12345", "desk-110", "supervisor"])
async def test_agents_and_supervisors_may_classify(api: Client, who: str) -> None:
    status, _ = await classify(api, {"text": "路灯坏了好几天了"}, who=who)
    assert status == 200


async def test_a_wallboard_token_may_not_and_no_token_is_refused(api: Client) -> None:
    status, body = await classify(api, {"text": "路灯坏了"}, who="wallboard")
    assert status == 403 and "monitor" in body["detail"]
    response = await api.post("/api/classify", json={"text": "路灯坏了"})
    assert response.status == 401


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "text: Field required"),
        ({"text": "   "}, "text: String should have at least 1 character"),
        ({"text": "x" * 4001}, "text: String should have at most 4000 characters"),
        ({"text": "路灯坏了", "kind": "闲聊"}, "kind: Input should be"),
        ({"text": "路灯坏了", "urgent": True}, "urgent: Extra inputs are not permitted"),
        ({"text": 110}, "text: Input should be a valid string"),
        (["路灯坏了"], "body: Input should be a valid dictionary"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(api: Client, body: Any, named: str) -> None:
    status, answer = await classify(api, body)
    assert status == 422
    assert named in answer["detail"]


async def test_a_body_that_is_not_json_is_a_400(api: Client) -> None:
    response = await api.post(
        "/api/classify", data=b"text=hello", headers={**auth("desk-110"), "Content-Type": "x"}
    )
    assert response.status == 400
    assert (await response.json())["detail"] == "the body is not JSON"


async def test_a_bad_rule_book_is_a_503_naming_the_file(tmp_path: Path) -> None:
    rules = tmp_path / "scope_rules.toml"
    rules.write_text("[[rule]\n", encoding="utf-8")
    client = await client_for(LazyClassifier(rules))
    try:
        response = await client.post(
            "/api/classify", json={"text": "路灯坏了"}, headers=auth("desk-110")
        )
        assert response.status == 503
        assert str(rules) in (await response.json())["detail"]
    finally:
        await client.close()


async def test_the_lazy_classifier_loads_once(tmp_path: Path) -> None:
    lazy = LazyClassifier(SCOPE_RULES)
    first, second = await asyncio.gather(lazy(), lazy())
    assert first is second
    assert first.classify("有人持刀抢劫").urgent


def test_build_service_installs_the_ivr_routes_and_the_classify_api(tmp_path: Path) -> None:
    service = build_service(SETTINGS, str(JINING))
    assert ("POST", "/api/classify") in {(s.method, s.path) for s in service.routes.specs}
    routes = AgiRoutes()
    with pytest.raises(IvrConfigError, match=r"ivr\.toml: entry\.attempts"):
        (tmp_path / "ivr.toml").write_text("[entry]\nattempts = 0\n", encoding="utf-8")
        install_ivr(Service(SETTINGS, str(tmp_path / "hotline.toml"), environ={}), routes)
    install_ivr(Service(SETTINGS, JINING, environ={}), routes)
    assert {"entry-12345", "divert-110", "route-110"} <= set(routes.names())
