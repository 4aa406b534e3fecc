"""The classifier on the annex's rows (受理范围指导清单) and the data README's conventions.

Sentences here are new wordings, in neither the dev set nor config/scope_examples.jsonl.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.scope import Kind, Route, ScopeClassifier, load_classifier, load_rulebook
from routing.scope.classifier import build_classifier

RULES = Path(__file__).resolve().parents[2] / "config" / "scope_rules.toml"


@pytest.fixture(scope="module")
def classifier() -> ScopeClassifier:
    return load_classifier(RULES)


def decide(classifier: ScopeClassifier, text: str) -> tuple[str, str, bool]:
    decision = classifier.classify(text)
    return decision.route.value, decision.kind.value, decision.urgent


# 110, 报警: criminal, public-order and road-traffic incidents, mass incidents, other crime.
@pytest.mark.parametrize(
    "text",
    [
        "饭馆里几个喝多的人掀了桌子互相抡椅子，有人头上见血了。",
        "有个人蒙着脸在ATM机旁边拿刀逼一个姑娘取钱。",
        "公路上一辆轿车把骑三轮的大爷撞进沟里，司机开车就跑了。",
        "上百人围在镇政府门口，有人开始砸车，场面控制不住了。",
    ],
)
def test_crime_order_and_traffic_incidents_go_to_110_urgent(
    classifier: ScopeClassifier, text: str
) -> None:
    assert decide(classifier, text) == ("110", "报警", True)


def test_a_theft_found_later_is_110_but_not_urgent(classifier: ScopeClassifier) -> None:
    assert decide(classifier, "上礼拜我家店里的两台电脑被人偷走了，门锁有撬过的痕迹。") == (
        "110",
        "报警",
        False,
    )


# 110, 求助: drowning, falls, suicide, people in danger, the missing, hazards, disasters.
@pytest.mark.parametrize(
    "text",
    [
        "池塘里有个孩子掉下去了，水挺深，我们够不着他。",
        "隔壁装修的师傅从三楼的窗台上掉下来了，趴在地上不动。",
        "我室友发消息说活够了，桌上放着一堆安眠药，人不见了。",
        "俺娘有点糊涂，早上去赶集到现在没回来，村里都找遍了。",
        "下暴雨山洪冲下来了，我们几户人家被困在河对岸回不来。",
        "路边的电线被风刮断了耷拉在地上，还噼里啪啦冒火花。",
    ],
)
def test_urgent_help_needing_police_goes_to_110(classifier: ScopeClassifier, text: str) -> None:
    route, _, urgent = decide(classifier, text)
    assert (route, urgent) == ("110", True)


def test_police_misconduct_happening_now_is_110(classifier: ScopeClassifier) -> None:
    assert decide(classifier, "有个民警现在正在路边打一个卖菜的老头，好多人围着看。")[:2] == (
        "110",
        "投诉举报",
    )


def test_past_police_service_is_a_12345_complaint(classifier: ScopeClassifier) -> None:
    assert decide(classifier, "去年我去派出所迁户口，窗口的民警让我来回跑了五趟，想投诉。")[:2] == (
        "12345",
        "投诉举报",
    )


# 12345: consultation, non-urgent help, complaints and reports, suggestions.
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("请问在梁山县生二孩能领多少育儿补贴，去哪申请？", "咨询"),
        ("新办的营业执照要不要去税务局报到，个体户要不要记账？", "咨询"),
        ("我家楼下的路灯坏了半个月了，晚上出门黑灯瞎火的，麻烦找人修修。", "求助"),
        ("村里的自来水管子冻裂了，家家户户都没法用水，请供水站来修。", "求助"),
        ("小区里的游泳馆卖了年卡突然不营业了，也不给退钱。", "投诉举报"),
        ("楼下洗车店的污水天天流到马路上，冬天结冰好几个人滑倒过。", "投诉举报"),
        ("建议在城区的主干道上多设几个公交专用道，早高峰太堵了。", "意见建议"),
        ("希望把图书馆的开放时间延长到晚上九点，上班族下班就关门了。", "意见建议"),
    ],
)
def test_non_emergency_requests_go_to_12345(
    classifier: ScopeClassifier, text: str, kind: str
) -> None:
    assert decide(classifier, text) == ("12345", kind, False)


def test_non_urgent_police_business_is_12345(classifier: ScopeClassifier) -> None:
    route, kind, _ = decide(classifier, "我想给孩子办个护照，暑假出国，在哪个窗口办？要多久？")
    assert (route, kind) == ("12345", "咨询")


# Neither line: 119, 120, 122 and the utilities' own hotlines.
@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("我们楼下的电动车棚着火了，火苗窜得老高，楼上好多人家。", "119"),
        ("我被卡在商场的电梯里了，电梯门打不开，里面还有个老人。", "119"),
        ("我妈刚才突然倒地抽搐，口吐白沫，怎么叫都没反应。", "120"),
        ("在停车场倒车把别人的车尾灯碰碎了，人都没事，就是要交警定个责任。", "122"),
        ("我们这一片从中午就停电了，是不是线路检修，大概几点能来电？", "utility"),
    ],
)
def test_other_channels(classifier: ScopeClassifier, text: str, route: str) -> None:
    decision = classifier.classify(text)
    assert decision.route.value == route
    assert decision.platform.value == "other"
    assert decision.channel is not None and decision.channel.value == route


# Conventions from the data README.
def test_a_repair_request_stays_with_12345_not_utility(classifier: ScopeClassifier) -> None:
    route = decide(classifier, "我家电表跳闸了好几天，停电了也没人来修，供电所一直推。")[0]
    assert route == "12345"


def test_fraud_by_a_stranger_is_110_even_after_the_fact(classifier: ScopeClassifier) -> None:
    text = "上个月有人打电话冒充快递理赔，让我下载软件共享屏幕，卡里三万块被转走了。"
    assert decide(classifier, text)[:2] == ("110", "报警")


def test_asking_about_a_reported_case_is_12345(classifier: ScopeClassifier) -> None:
    text = "我三月份被骗的事已经报了案，想问问案子有没有进展，钱能追回来吗？"
    assert decide(classifier, text)[0] == "12345"


def test_a_real_business_losing_prepaid_money_is_12345(classifier: ScopeClassifier) -> None:
    text = "理发店老板突然把店关了人也找不着，我们好几十个办了卡的顾客都没退钱。"
    assert decide(classifier, text)[:2] == ("12345", "投诉举报")


def test_a_quarrel_that_has_not_turned_violent_is_a_three_party_call(
    classifier: ScopeClassifier,
) -> None:
    text = "楼上楼下因为漏水吵了一下午，两家人都在楼道里堵着，还没动手。"
    assert decide(classifier, text)[0] == "both"


# Negations.
def test_no_injury_turns_a_crash_into_a_122_matter(classifier: ScopeClassifier) -> None:
    injured = classifier.classify("两辆车追尾了，前车司机头上流血了，坐在路边起不来。")
    unhurt = classifier.classify("两辆车追尾了，没有人受伤，想让交警来划分责任。")
    assert (injured.route, injured.urgent) == (Route.POLICE_110, True)
    assert unhurt.route is Route.TRAFFIC_122
    assert "danger.traffic_injury" not in {hit.rule_id for hit in unhurt.reasons}


def test_not_urgent_said_outright_lowers_urgency(classifier: ScopeClassifier) -> None:
    decision = classifier.classify("不是紧急的事，想问问小区门口的垃圾站能不能挪远一点。")
    assert decision.urgent is False
    assert decision.route is Route.HOTLINE_12345


# Safety first, districts, reasons, the caller's kind.
def test_danger_overrides_12345_cues_and_the_callers_kind(classifier: ScopeClassifier) -> None:
    decision = classifier.classify(
        "我想咨询一下物业费的政策，另外我们楼下现在有人拿刀砍人。", caller_kind=Kind.CONSULTATION
    )
    assert decision.route is Route.POLICE_110 and decision.urgent
    assert decision.kind is Kind.REPORT
    assert any("danger.violence" in note for note in decision.notes)


def test_rules_alone_still_put_safety_first() -> None:
    rules_only = build_classifier(load_rulebook(RULES))
    assert not rules_only.has_model
    decision = rules_only.classify("请问社保怎么交？对了我邻居刚喝了农药。")
    assert decision.route is Route.POLICE_110 and decision.urgent


def test_the_callers_kind_is_kept_when_there_is_no_danger(classifier: ScopeClassifier) -> None:
    decision = classifier.classify("小区绿化带被人种上了菜。", caller_kind=Kind.SUGGESTION)
    assert decision.kind is Kind.SUGGESTION
    assert "kind chosen by the caller" in decision.notes


def test_reasons_name_the_rules_and_the_words(classifier: ScopeClassifier) -> None:
    decision = classifier.classify("有人跳河了！就在金乡的桥底下。")
    hits = {hit.rule_id: hit.matched for hit in decision.reasons}
    assert hits["danger.suicide"] == ("跳河",)
    assert decision.to_dict()["reasons"][0]["rule"] == "danger.suicide"
    assert 0.0 < decision.confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("曲阜孔庙门口有人晕倒了", "370881"),
        ("我在邹城市太平镇，想问问社保", "370883"),
        ("任城区这边的路灯坏了", "370811"),
        ("嘉祥县的武氏祠什么时候开门", "370829"),
        ("微山湖上有条船翻了", "370826"),
        ("太白湖新区的公交太少了", "370811"),
        ("济宁市里的公交太少了", None),
    ],
)
def test_district_from_place_names(
    classifier: ScopeClassifier, text: str, district: str | None
) -> None:
    assert classifier.classify(text).district == district


def test_empty_text_is_refused(classifier: ScopeClassifier) -> None:
    with pytest.raises(ValueError, match="text to classify is empty"):
        classifier.classify("   ")


# Words that look like danger but are not: the rules must not send these to 110 or 119/120.
@pytest.mark.parametrize(
    "text",
    [
        "物业经理的电话我打他电话一直不接，报修的事拖了一个月。",
        "楼上装修天天用冲击钻，中午也不停，吵得孩子没法午睡。",
        "快递丢了，快递公司和驿站推来推去，我都气炸了。",
        "想问问救护车出车的收费标准，上次拉一趟要了八百，太贵了。",
        "网上有店铺卖管制刀具，这个应该向哪个部门举报？",
        "孩子的书包在学校丢了，里面有课本，老师说不归她管。",
    ],
)
def test_danger_lookalikes_stay_with_12345(classifier: ScopeClassifier, text: str) -> None:
    decision = classifier.classify(text)
    assert decision.route is Route.HOTLINE_12345, decision.reasons
    assert not decision.urgent


def test_kind_follows_the_annex_table_for_the_route(classifier: ScopeClassifier) -> None:
    # 12345 takes no 报警 and 110 no 咨询 or 意见建议 (the annex's empty cells).
    complaint = classifier.classify("出租车司机绕远路，十几块的路程收了我四十，还不给发票。")
    assert complaint.route is Route.HOTLINE_12345
    assert complaint.kind is not Kind.REPORT
    crime = classifier.classify("请问一下，刚才有人抢了我的手机往南跑了，我该怎么办？")
    assert crime.route is Route.POLICE_110
    assert crime.kind not in {Kind.CONSULTATION, Kind.SUGGESTION}
