"""Transcripts of the conversation rules: nobody is held by a dialog, phone input is read as
meant, what a button says can be typed, every feature answers to plain words, short messages
get short answers."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models.checkin import CheckIn
from models.member import Identity
from models.notice import NoticeRecipient
from models.ticket import Ticket, TicketState
from tests.fakes import Chat
from tests.handlers.test_checkin import host_code
from tests.handlers.test_report import COMPLAINT, file

LEAVE = "（发送“取消”退出）"


async def _checkins(chat: Chat) -> int:
    async with chat.app.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(CheckIn)) or 0)


async def _ticket(chat: Chat, number: str) -> Ticket:
    async with chat.app.sessionmaker() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        return ticket


# --- a dialog swallows nothing -----------------------------------------------------------


async def test_help_a_command_or_another_request_leaves_a_waiting_step(chat: Chat) -> None:
    assert (await chat.say("member", "签到"))[0].startswith("请发送主持人出示的 6 位签到码")
    [helped] = await chat.say("member", "帮助")
    assert helped.startswith("（已退出“签到”）📖 您可以这样用")
    await chat.say("member", "签到")
    [me] = await chat.say("member", "/me")
    assert me.startswith("（已退出“签到”）👤 ")
    await chat.say("member", "签到")
    assert await chat.say("member", "怎么退出") == ["已取消当前操作。"]
    await chat.say("member", "签到")
    [report] = await chat.say("member", "我想反映个问题")
    assert report.startswith("（已退出“签到”）")
    # Nothing in the step's way stays behind: a code now checks in.
    await chat.say("member", "取消")
    code = await host_code(chat)
    [ok] = await chat.say("member", code)
    assert ok.startswith("✅ 签到成功")


async def test_a_problem_typed_as_a_question_answers_the_whistle_it_was_asked_for(
    chat: Chat,
) -> None:
    assert (await chat.say("member", "我要反映问题"))[0].startswith("请用一两句话说说遇到的问题")
    [unit, *_] = await chat.say("member", "营业执照年检材料不知道怎么准备")
    assert unit.startswith("这个问题涉及哪个单位？")  # the answer, not a 吹哨 started over
    await chat.say("member", "取消")
    await chat.say("member", "/report")
    [mine] = await chat.say("member", "我的吹哨怎么样了？")  # another feature still leaves
    assert mine.startswith("（已退出“吹哨”）")


async def test_a_question_about_check_in_asks_once_and_does_not_trap(chat: Chat) -> None:
    assert await chat.say("member", "怎么签到") == [
        "请发送主持人出示的 6 位签到码，或分享您的位置完成签到（发送“取消”退出）。"
    ]
    assert await chat.say("member", "abc") == [f"签到码是 6 位数字，请核对后重新发送。{LEAVE}"]
    [activities] = await chat.say("member", "活动")
    assert activities.startswith("（已退出“签到”）📅 近期活动")


async def test_a_command_at_a_note_step_is_not_taken_as_the_resolution(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.press_received("officer_tax", "签收")
    assert await chat.press("officer_tax", "办结") == ["请输入办结说明（问题是怎么解决的）："]
    [detail] = await chat.say("officer_tax", f"/tickets {number}")
    assert detail.startswith(f"（已退出“工单”）📋 {number}")
    [again] = await chat.say("officer_tax", f"工单 {number}")
    assert again.startswith(f"📋 {number}")
    assert (await _ticket(chat, number)).state == TicketState.SIGNED
    assert not any("已办结" in t for t in chat.received("member"))


async def test_a_note_that_mentions_another_feature_stays_a_note(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.press_received("officer_tax", "签收")
    await chat.press("officer_tax", "办结")
    [shown] = await chat.say("officer_tax", "已上门帮助开通数电发票，签到系统也已调试")
    assert shown.startswith(f"请确认办结 {number}：")


# --- phone input ---------------------------------------------------------------------------


async def test_codes_typed_full_width_in_groups_with_dashes_or_in_chinese_numerals(
    chat: Chat,
) -> None:
    code = await host_code(chat)
    wide = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    [ok] = await chat.say("member", f"签到　{wide}")  # ideographic space, full-width digits
    assert ok.startswith("✅ 签到成功")
    spoken = "".join("零一二三四五六七八九"[int(d)] for d in code)
    for typed in (f"{code[:3]} {code[3:]}", f"{code[:3]}-{code[3:]}", f"码是{spoken}"):
        [again] = await chat.say("member", f"签到 {typed}")
        assert again.startswith("您已于"), typed
    [glued] = await chat.say("host", f"签到{code}")
    assert glued.startswith("✅ 签到成功")
    assert await _checkins(chat) == 2


async def test_an_invite_code_in_full_width_digits_binds(chat: Chat) -> None:
    from tests.handlers.test_binding import _newcomer_code

    code = await _newcomer_code(chat)
    wide = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    [bound] = await chat.say("newcomer", f"绑定　{wide}")
    assert bound.startswith("绑定成功！")


async def test_ticket_numbers_typed_loosely_are_found(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    year, seq = number.split("-")[1:]
    for typed in (number.replace("-", ""), number.lower(), f"{year}-{seq}", seq, str(int(seq))):
        [detail] = await chat.say("member", f"我的吹哨 {typed}")
        assert detail.startswith(f"📋 {number}"), typed


async def test_a_ticket_number_alone_shows_that_ticket_and_answers_a_step_as_a_number(
    chat: Chat,
) -> None:
    number = await file(chat, "member", COMPLAINT)
    seq = number.split("-")[2]
    wide = seq.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for typed in (seq, wide, f"WT{seq}"):
        [detail] = await chat.say("member", typed)
        assert detail.startswith(f"📋 {number}"), typed
    assert await chat.say("mobile", seq) == ["没有找到这个工单，或您无权查看。"]
    # In a dialog a bare number is the step's answer, not a ticket number.
    await chat.say("member", "签到")
    assert await chat.say("member", seq) == [f"签到码是 6 位数字，请核对后重新发送。{LEAVE}"]


async def test_asking_what_the_bot_is_explains_it(chat: Chat) -> None:
    [unbound] = await chat.say("newcomer", "在吗 这个是干嘛的")
    assert unbound.startswith("您好，这里是红盟助手") and "绑定 邀请码" in unbound
    [hello] = await chat.say("newcomer", "有人吗")
    assert "有什么可以帮您" in hello
    replies = await chat.say("member", "这个是干嘛的")
    assert replies[0].startswith("您好，这里是红盟助手") and "欢迎回来" in replies[0]
    assert "【活动与签到】" in replies[1]


# --- what a button says can be typed ------------------------------------------------------


async def test_typed_received_acknowledges_the_latest_notice_and_says_which(chat: Chat) -> None:
    await chat.say("admin", "/notice")
    await chat.say("admin", "周五下午三点开展主题党日活动，请准时参加。")
    await chat.press("admin", "全体")
    await chat.press("admin", "立即发送")
    await chat.press("admin", "确认发送")
    [card] = [t for t in chat.received("member") if "周五下午三点" in t]
    number = re.search(r"通知 #(\d+)", card)
    assert number
    [acked_line] = await chat.say("member", "收到")
    assert acked_line.startswith(
        f"已确认收到通知 #{number.group(1)}（周五下午三点开展主题党日活动，请准时参加…），谢谢！"
    )
    async with chat.app.sessionmaker() as session:
        member_id = await session.scalar(
            select(Identity.member_id).where(Identity.user_key == "member")
        )
        acked = await session.scalar(
            select(NoticeRecipient.acked_at).where(
                NoticeRecipient.notice_id == int(number.group(1)),
                NoticeRecipient.member_id == member_id,
            )
        )
    assert acked is not None
    while (await chat.say("member", "收到"))[0].startswith("已确认"):
        pass  # the demo's older notices
    assert await chat.say("member", "已收到") == ["您没有待确认的通知。发送“通知”查看最近的通知。"]


async def test_typed_labels_page_rate_and_submit(chat: Chat) -> None:
    await chat.say("member", "资源 冷链物流")
    [second] = await chat.say("member", "下一页")
    assert "第 6–10 条" in second
    [asked] = await chat.say("member", "我要对接 7")
    assert asked.startswith("✅ ")
    # A report: the unit, the category label and 提交 typed instead of pressed.
    await chat.say("member", COMPLAINT)
    [category] = await chat.say("member", "本单位")
    assert category.startswith("建议分类：税务发票")
    [confirm] = await chat.say("member", "融资贷款")  # another category's label
    assert "分类：融资贷款" in confirm
    [filed, *_] = await chat.say("member", "提交")
    assert filed.startswith("🚩 吹哨成功！")
    number = filed.split("工单号 ", 1)[1].split("\n", 1)[0]
    ticket = await _ticket(chat, number)
    assert ticket.category == "finance"
    # 提交 typed again: the dialog is over; said so, and nothing is filed twice.
    assert await chat.say("member", "提交") == ["这一步已经结束了，“提交”不用再发。"]
    async with chat.app.sessionmaker() as session:
        texts = (await session.execute(select(Ticket.text).where(Ticket.text == COMPLAINT))).all()
    assert len(texts) == 1


async def test_typed_rating_closes_the_ticket(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.press_received("officer_tax", "签收")
    await chat.press("officer_tax", "办结")
    await chat.say("officer_tax", "已处理")
    await chat.say("officer_tax", "确认办结")
    assert await chat.say("member", "满意") == [f"感谢您的评价！{number} 已关闭。"]
    assert (await _ticket(chat, number)).state == TicketState.CLOSED
    again = await chat.press_received("member", "基本满意")
    assert again == [f"您已评价过 {number}（满意），谢谢！"]


# --- every feature answers to plain words -------------------------------------------------


async def test_plain_words_reach_ranking_the_queue_and_exports(chat: Chat) -> None:
    [ranking] = await chat.say("member", "我们单位品牌排行第几名")
    assert ranking.startswith("🏅 品牌排行")
    [queue] = await chat.say("officer_tax", "还有哪些待办工单没签收")
    assert queue.startswith(("📥 ", "目前没有待办工单"))
    [refused] = await chat.say("member", "帮我导出一份成员名单")
    assert refused.startswith("抱歉，“导出”只对联盟管理员开放")


async def test_a_refusal_says_what_the_person_can_do_instead(chat: Chat) -> None:
    assert await chat.say("member", "/stats") == [
        "抱歉，“统计”只对联盟管理员开放。您可以用“品牌排行”：达标创星本月评分与星级。"
    ]


# --- short answers to short messages -------------------------------------------------------


async def test_greetings_and_thanks_get_one_line(chat: Chat) -> None:
    [hello] = await chat.say("member", "你好")
    assert hello.startswith("早上好，") and "\n" not in hello
    assert await chat.say("member", "谢谢") == ["不客气，有事随时找我 😊"]
    assert await chat.say("member", "👍") == ["好的 👌"]


async def test_unknown_text_gets_suggestions_not_the_menu(chat: Chat) -> None:
    [answer] = await chat.say("member", "股票明天涨不涨")
    assert answer.startswith("没太明白您的意思。您可以试试：")
    assert "\n" not in answer


async def test_help_lists_only_what_the_role_may_use_grouped(chat: Chat) -> None:
    [member] = await chat.say("member", "帮助")
    assert "【吹哨】吹哨 · 我的吹哨 · 撤回吹哨 · 附议 · 工单" in member
    assert "统计" not in member and "发通知" not in member and "签到码" not in member
    [admin] = await chat.say("alliance_admin", "帮助")
    assert "【数据与管理】" in admin and "发通知" in admin


async def test_a_which_do_you_mean_choice_runs_with_the_words_of_the_message(chat: Chat) -> None:
    from bot.nlu import Parse

    def unsure(text: str) -> Parse:
        return Parse("resources", {}, 0.5, alternatives=("resources", "report"))

    chat.app.dispatcher.router.nlu = unsure
    assert await chat.say("member", "冷链物流") == ["您是想："]
    assert [b.label for b in chat.last["member"]] == ["资源", "吹哨"]
    [found] = await chat.press("member", "资源")
    assert found.startswith("🔎 资源清单里与“冷链 物流”相关的资源")
    await chat.say("member", "冷链物流车进不了园区")
    [unit] = await chat.press("member", "吹哨")
    assert unit.startswith("这个问题涉及哪个单位？")  # the words became the problem's text


# --- found by people trying the demo ------------------------------------------------------


async def test_an_officer_types_an_action_with_its_ticket_and_note(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    seq = number.rsplit("-", 1)[1]
    assert await chat.say("officer_tax", f"签收 {seq}") == [f"已签收 {number}，部门报到成功。"]
    [shown] = await chat.say("officer_tax", "办结 已上门辅导企业开通数电发票")
    assert shown.startswith(f"请确认办结 {number}：")
    assert "已上门辅导企业开通数电发票" in shown
    assert await chat.say("officer_tax", "确认办结") == [f"{number} 已办结，已请反映人评价。"]
    assert await chat.say("member", "挺满意的") == [f"感谢您的评价！{number} 已关闭。"]


async def test_a_question_in_a_note_step_asks_and_records_no_progress(chat: Chat) -> None:
    number = await file(chat, "member", COMPLAINT)
    await chat.press_received("officer_tax", "签收")
    await chat.press("officer_tax", "更新进展")
    [queue] = await chat.say("officer_tax", "我还有几个工单没签收？")
    assert queue.startswith("（已退出“工单”）")
    assert not any("有新进展" in t for t in chat.received("member"))
    assert (await _ticket(chat, number)).state == TicketState.SIGNED


async def test_when_questions_leave_the_report_step_instead_of_becoming_the_problem(
    chat: Chat,
) -> None:
    await chat.say("member", "吹哨")
    [answer] = await chat.say("member", "今天几点开会来着")  # not the problem's text
    assert answer.startswith("（已退出“吹哨”）📅 ")
    await chat.say("member", "吹哨")
    await chat.say("member", COMPLAINT)
    [meetings] = await chat.say("member", "最近有什么会议")  # at the unit step
    assert meetings.startswith("（已退出“吹哨”）")


async def test_yes_to_the_proposal_a_number_and_giving_up(chat: Chat) -> None:
    await chat.say("member", COMPLAINT)
    await chat.say("member", "1")  # the first button: 本单位
    [confirm] = await chat.say("member", "对")  # the ✅ proposed category
    assert confirm.startswith("请确认：") and "分类：税务发票" in confirm
    assert await chat.say("member", "我还是不报了吧") == ["已取消当前操作。"]


async def test_times_said_together_and_an_end_in_the_afternoon(chat: Chat) -> None:
    await chat.say("host", "发布活动")
    await chat.say("host", "组织生活会")
    assert await chat.say("host", "下周三下午两点到四点") == [
        "活动地点？（例如：县党群服务中心三楼）"
    ]
    await chat.say("host", "会议室")
    [preview] = await chat.say("host", "跳过")
    assert "时间：12月09日（周三） 14:00-16:00" in preview
    [changed] = await chat.say("host", "地点改成县党群服务中心三楼")
    assert "地点：县党群服务中心三楼" in changed and changed.startswith("请确认要发布的活动")
    await chat.say("host", "修改")
    await chat.say("host", "时间")
    await chat.say("host", "周六下午两点")
    [preview] = await chat.say("host", "四点")  # people mean the afternoon
    assert "时间：12月05日（周六） 14:00-16:00" in preview
    assert (await chat.say("host", "昨天下午3点"))[0] != ""  # at the preview: nothing published
    await chat.say("host", "修改")
    await chat.say("host", "时间")
    assert (await chat.say("host", "昨天下午3点"))[0].startswith(
        "11月30日（周一） 15:00 已经过去了"
    )


async def test_a_host_checks_in_people_named_in_a_sentence_or_by_part_of_a_name(
    chat: Chat,
) -> None:
    from models.member import Member

    async with chat.app.sessionmaker() as session:
        member = await session.scalar(
            select(Member).join(Identity).where(Identity.user_key == "member")
        )
    assert member is not None
    [done] = await chat.say("host", f"{member.name}来了 帮他签一下")
    assert done.startswith(f"已为 {member.name} 确认签到")
    part = member.name[:-1]  # 于 for 于刚
    assert await chat.say("host", f"代签 {part}") == [f"没有叫“{part}”的党员，您是说："]
    assert any(b.label.startswith(member.name) for b in chat.last["host"])
