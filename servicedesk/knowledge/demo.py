"""Knowledge-base part of the airport-drill demo: ~40 articles (English and Chinese) written
and published through the services, their usage history, votes, a must-read broadcast and a
known error for the open major incident. Called by ``servicedesk.demo``; flushes, never
commits. The caller rebuilds the search index after committing (``flask sd seed-demo``).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicedesk.accounts.models import Role, User
from servicedesk.catalog.models import Service
from servicedesk.knowledge import problems, services
from servicedesk.knowledge.models import Article
from servicedesk.tickets.models import Status, Ticket


@dataclass(frozen=True)
class DemoArticle:
    #: Service kind (see servicedesk.demo.ServiceSpec.kind) the article belongs to.
    kind: str
    title: str
    symptoms: str
    cause: str
    resolution: str
    tags: tuple[str, ...]
    language: str = "en"
    audience: str = "internal"
    is_must_read: bool = False
    #: draft, in_review, published or retired.
    status: str = "published"


A = DemoArticle
ARTICLES: tuple[DemoArticle, ...] = (
    A("kiosk", "Check-in kiosk frozen on the welcome screen",
      "Kiosk shows the welcome screen but ignores touches; the card reader light is off.",
      "The kiosk application lost its connection to the device manager after a network blip.",
      "Hold the service key, choose Restart application. If still frozen, power-cycle the "
      "kiosk from the breaker label K-x behind the panel (90 seconds).",
      ("kiosk", "touchscreen", "restart")),
    A("kiosk", "Bag-tag printer at the kiosk prints blank tags",
      "Kiosk prints bag tags but they come out blank or faded.",
      "Thermal bag-tag stock loaded upside down, or the print head is dirty.",
      "Open the printer, turn the roll so the shiny side faces the head, clean the head with "
      "an alcohol wipe, print a test tag from the service menu.",
      ("bag tag", "printer", "kiosk")),
    A("kiosk", "Passport scanner on the kiosk does not read the passport",
      "Passengers get 'document could not be read' at the kiosk.",
      "Dust or glare on the scanner glass; rarely a failed scanner firmware update.",
      "Clean the glass with a dry cloth, close the hood, retry. Tell passengers to place the "
      "photo page face down against the top-left corner.", ("passport", "scanner", "kiosk"),
      audience="public"),
    A("belt", "Baggage belt stops when a bag tag cannot be read",
      "Belt stops, the sorter shows 'no read' alarms, bags pile up at the scanner arch.",
      "Crumpled or wet bag tags the barcode array cannot read; the belt stops for a manual "
      "decision.", "Move the bag to the manual coding station, key in the tag number, "
      "restart the belt from the local panel. Do not bypass the scanner.",
      ("baggage", "belt", "sorter", "no read")),
    A("belt", "Baggage belt emergency stop pressed",
      "Belt section dead, red lamp on the local panel, sorter reports E-stop.",
      "Someone pressed an emergency stop button along the belt.",
      "Walk the belt, find the pulled button, check nobody is in danger, twist to release, "
      "reset on the local panel, start the section.", ("baggage", "belt", "e-stop")),
    A("belt", "Reclaim belt carousel runs but does not show the flight",
      "Arriving passengers wait at the wrong carousel; the reclaim display is blank.",
      "The carousel was not allocated to the flight in the resource management system.",
      "Allocate the flight to the carousel in RMS; the display updates within a minute. "
      "Announce the carousel number.", ("reclaim", "carousel", "display")),
    A("fids", "Gate screen shows the previous flight",
      "The gate display still shows the previous departure after boarding started.",
      "The display client missed the gate-change message and kept its cache.",
      "Right-click the display in the FIDS console, choose Refresh content. If it persists, "
      "reboot the media player behind the screen.", ("fids", "gate", "display")),
    A("fids", "Departure board shows no flights after midnight",
      "Departure boards empty after 00:00 until someone refreshes them.",
      "Schedule feed rolls over at midnight; boards subscribed to the old day.",
      "Known behaviour until the feed is fixed: run Resubscribe all boards in the FIDS "
      "console at 00:05.", ("fids", "departures", "midnight")),
    A("docking", "Docking guidance shows STOP too early",
      "Aircraft stopped short of the stop line; the guidance unit displayed STOP.",
      "Wrong aircraft type selected, or the laser is dirty/obstructed by snow.",
      "Check the aircraft type on the unit matches the flight, clean the laser window, "
      "marshal the aircraft manually until the unit is verified.",
      ("docking", "guidance", "stand")),
    A("docking", "Docking guidance unit blank at a contact stand",
      "Stand guidance display dark, aircraft on approach to the stand.",
      "Unit lost power or its controller hung.",
      "Send a marshaller at once (manual docking). Then reset the unit from the stand panel; "
      "if it stays dark call Airside Systems.", ("docking", "guidance", "marshaller")),
    A("radar", "Approach radar picture freezes for a few seconds",
      "Controllers report the radar picture freezing for 2-5 seconds, then jumping.",
      "Switch-over between the redundant radar data processors.",
      "Confirm the secondary processor took over in the radar status page; log the time; "
      "Nordic Radar Systems analyses the logs. Controllers use the secondary picture.",
      ("radar", "freeze", "failover")),
    A("radar", "Secondary radar labels missing for some aircraft",
      "Some aircraft show no callsign labels on the radar display.",
      "Transponder code not correlated with a flight plan.",
      "Ask the tower to check the flight plan and squawk; correlate manually in the display.",
      ("radar", "label", "transponder")),
    A("tower", "Tower radio has a loud hiss on one frequency",
      "Controllers hear a loud hiss on one frequency; pilots report weak reception.",
      "Faulty antenna connector or interference from a new device near the antenna.",
      "Switch the frequency to the standby transmitter in the voice switch, then call "
      "Airside Systems to inspect the antenna.", ("tower", "radio", "hiss")),
    A("tower", "Controller headset has no sidetone",
      "Controller cannot hear their own voice in the headset.",
      "Headset plug half inserted or the jack box setting changed.",
      "Reseat the headset plug firmly; on the jack box set sidetone to 3. Swap the headset "
      "if it persists.", ("tower", "headset")),
    A("lighting", "Runway edge lights section does not switch on",
      "One section of runway edge lights stays dark when switched on.",
      "Constant current regulator tripped on an earth fault.",
      "Reset the regulator from the lighting control panel once; if it trips again, inform "
      "the tower to close the section and call electricians.", ("lighting", "runway", "ccr"),
      is_must_read=True),
    A("fuel", "Fuel order not received by the bowser dispatcher",
      "Airline says the fuel order was sent; dispatcher does not see it.",
      "The fuel order interface queue is stuck after a certificate renewal.",
      "Restart the fuel interface service from the fuel management console; orders resend "
      "automatically. Phone the dispatcher with urgent orders meanwhile.",
      ("fuel", "order", "interface")),
    A("fuel", "Hydrant meter reading not transferred",
      "Fuel delivered but the meter reading is missing in the fuel system.",
      "The handheld did not sync before leaving the stand.",
      "Ask the fueller to sync the handheld in the truck cradle; enter the reading manually "
      "if the handheld is lost.", ("fuel", "meter", "handheld")),
    A("cargo", "Warehouse scale weight does not reach the cargo system",
      "ULD weighed but the cargo system shows weight 0.",
      "Scale lost its network session after a power cut.",
      "Power-cycle the scale terminal, weigh again; if still 0 enter the printed weight with "
      "reason 'scale offline'.", ("cargo", "scale", "uld")),
    A("cargo", "Cargo manifest rejected by customs interface",
      "Manifest upload returns 'schema error' from customs.",
      "A line has an empty HS code or a special character in the description.",
      "Open the rejected manifest, fix the highlighted lines, resend.",
      ("cargo", "manifest", "customs")),
    A("boarding", "Boarding pass printer jams at the gate",
      "Gate printer jams on every second boarding pass; passes come out crumpled.",
      "Worn roller or card stock loaded with the wrong side up.",
      "Open the tray, remove the stuck card, reseat the card stock with the logo up, close "
      "firmly. Swap the printer if the roller squeaks.", ("boarding pass", "printer", "gate")),
    A("boarding", "Reissue a boarding pass after a gate change",
      "Passenger has a pass with the old gate or seat.",
      "Gate or seat changed after check-in.",
      "In the departure control screen choose Reprint, confirm the new gate/seat, print at "
      "the transfer desk. No fee.", ("boarding pass", "reissue", "gate change"),
      audience="public"),
    A("catering", "Catering order shows yesterday's passenger count",
      "Flight kitchen received a meal count that is a day old.",
      "The nightly passenger count import ran before the airline sent the final figures.",
      "Resend the count from the catering ordering screen (Send latest count).",
      ("catering", "meal", "count")),
    A("dcs", "Check-in agents get 'host not responding'",
      "All check-in desks of one airline show 'host not responding'.",
      "The airline departure control link dropped; the VPN tunnel to the airline is down.",
      "Switch desks to the backup link in the link console; if both are down, start manual "
      "check-in with the airline's paper procedure.", ("dcs", "check-in", "link", "vpn"),
      is_must_read=True),
    A("network", "Passenger Wi-Fi login page does not open",
      "Passengers connect to the airport Wi-Fi but the login page never appears.",
      "Browser cached HTTPS; the captive portal cannot redirect.",
      "Ask the passenger to open http://wifi.airport.example in the browser; accept the "
      "terms. Free for 4 hours.", ("wifi", "wi-fi", "passenger", "login"), audience="public"),
    A("network", "Staff Wi-Fi drops in the pier",
      "Staff tablets lose Wi-Fi when walking along the pier.",
      "Roaming threshold too low on the tablet profile.",
      "Forget and rejoin the STAFF network; apply the 'pier' profile in MDM.",
      ("wifi", "staff", "roaming")),
    A("office", "Outlook keeps asking for the password",
      "Outlook asks for the password again and again.",
      "Password changed but the old one is saved in Credential Manager.",
      "Remove the saved Office credentials in Credential Manager, restart Outlook, sign in "
      "once.", ("outlook", "password", "email"), audience="public"),
    A("office", "Office printer shows offline",
      "Documents stay in the queue; the printer says offline.",
      "The PC uses an old printer port after the printer got a new address.",
      "Remove the printer, add it again from \\\\print01, print a test page.",
      ("printer", "offline")),
    A("access", "Staff badge rejected at an airside door",
      "Badge reader blinks red at an airside door; the badge works elsewhere.",
      "Access profile not assigned to that zone or badge expired.",
      "Check the badge validity and zones in the access system; add the zone with a "
      "manager's approval. Security escorts meanwhile.", ("badge", "access", "door")),
    A("access", "Account locked after password attempts",
      "User cannot log in: 'account locked'.",
      "Too many wrong password attempts.",
      "Verify the caller's identity (staff number + manager), unlock the account, ask them "
      "to change the password.", ("account", "locked", "password"), audience="public"),
    A("kiosk", "Kiosk asks for a PIN after a card payment for extra bags",
      "Payment terminal on the kiosk waits for a PIN, the passenger has none.",
      "Card issuer requires a PIN above the contactless limit.",
      "Offer payment at the airline desk.", ("payment", "kiosk"), status="draft"),
    A("belt", "Sorter tilt-tray jams",
      "Tilt-tray sorter stops with a jam alarm at one chute.",
      "Oversized bag in a normal chute.",
      "Remove the bag, move it to oversize, reset.", ("sorter", "jam"), status="in_review"),
    A("fids", "Old FIDS font rendering issue (fixed)",
      "Chinese destinations displayed as boxes.",
      "Old display font without CJK glyphs.",
      "Fixed by the 2025 display upgrade.", ("fids", "font"), status="retired"),
    # --- Chinese articles ------------------------------------------------------------------
    A("boarding", "登机牌打印机卡纸",
      "登机口打印机每打印两张登机牌就卡纸，登机牌皱折。",
      "滚轮磨损或者卡纸装反了。",
      "打开纸盒，取出卡住的登机牌，把卡纸标志朝上重新装好，关紧纸盒。滚轮有异响请更换打印机。",
      ("登机牌", "打印机", "卡纸"), language="zh"),
    A("kiosk", "自助值机终端黑屏",
      "自助值机终端屏幕黑屏，触摸没有反应。",
      "终端程序与设备管理服务断开连接。",
      "用维护钥匙进入菜单，选择重启应用；仍然黑屏则断电重启终端九十秒。",
      ("自助值机", "黑屏", "重启"), language="zh"),
    A("network", "旅客无线网络无法打开登录页面",
      "旅客连接机场无线网络后，登录页面打不开。",
      "浏览器缓存了加密页面，无法跳转到登录页面。",
      "请旅客在浏览器中打开 http://wifi.airport.example 并接受条款，免费使用四小时。",
      ("无线网络", "登录", "旅客"), language="zh", audience="public"),
    A("belt", "行李传送带停止运行",
      "行李传送带停止，分拣机显示无法读取行李牌。",
      "行李牌皱折或潮湿，条码无法读取。",
      "把行李移到人工编码台，手工输入行李牌号码，在本地面板重新启动传送带。",
      ("行李", "传送带", "分拣"), language="zh"),
    A("fuel", "航油订单没有送达加油调度",
      "航空公司说已经发送加油订单，调度员看不到。",
      "证书更新后航油接口队列卡住。",
      "在航油管理控制台重启接口服务，订单会自动重发；紧急订单先电话通知调度员。",
      ("航油", "订单", "接口"), language="zh"),
    A("access", "员工证在空侧门禁被拒绝",
      "门禁读卡器闪红灯，员工证在其他门可以用。",
      "没有分配该区域权限或者证件已过期。",
      "在门禁系统检查证件有效期和区域，经主管批准后添加区域；期间由安保人员陪同。",
      ("员工证", "门禁"), language="zh"),
    A("office", "Outlook 反复要求输入密码",
      "Outlook 一直弹出密码输入框。",
      "修改密码后凭据管理器里还保存着旧密码。",
      "在凭据管理器中删除 Office 凭据，重启 Outlook 并重新登录一次。",
      ("outlook", "密码", "邮件"), language="zh", audience="public"),
)


def seed(session: Session, *, now: datetime, rng: random.Random,
         services_by_kind: dict[str, list[Service]]) -> str:
    """Write the demo articles, their usage and a known error; return a summary line."""
    experts = list(session.scalars(sa.select(User).where(User.role == Role.expert)
                                   .order_by(User.id)))
    managers = list(session.scalars(sa.select(User).where(User.role == Role.manager)
                                    .order_by(User.id)))
    staff = list(session.scalars(sa.select(User).where(User.role.in_([Role.agent,
                                                                      Role.expert]))))
    requesters = list(session.scalars(sa.select(User).where(User.role == Role.requester)))
    written = now - timedelta(days=40)
    by_kind: dict[str, list[Article]] = {}
    for n, spec in enumerate(ARTICLES):
        author = experts[n % len(experts)]
        reviewer = managers[n % len(managers)]
        article = services.create_article(
            session, actor=author, now=written, title=spec.title, symptoms=spec.symptoms,
            cause=spec.cause, resolution=spec.resolution, tags=list(spec.tags),
            language=spec.language, audience=spec.audience,
            service_ids=[s.id for s in services_by_kind.get(spec.kind, [])],
            is_must_read=spec.is_must_read)
        if spec.status == "draft":
            continue
        services.submit_for_review(session, article, actor=author, now=written)
        if spec.status == "in_review":
            continue
        services.publish(session, article, actor=reviewer, now=written + timedelta(hours=2))
        if spec.status == "retired":
            services.retire(session, article, actor=reviewer, now=now - timedelta(days=2))
            continue
        by_kind.setdefault(spec.kind, []).append(article)
    uses = _usage_history(session, rng, by_kind)
    votes = _votes(session, rng, by_kind, staff + requesters, now)
    searches, deflected = _portal_searches(session, rng, by_kind, requesters, now)
    known = _known_error(session, now)
    published = sum(len(v) for v in by_kind.values())
    return (f"  {len(ARTICLES)} knowledge articles ({published} published, "
            f"{sum(1 for a in ARTICLES if a.language == 'zh')} in Chinese), {uses} resolutions "
            f"with an article, {votes} votes, {searches} portal searches ({deflected} solved "
            "without a ticket)" + (f", known error {known}" if known else ""))


def _usage_history(session: Session, rng: random.Random,
                   by_kind: dict[str, list[Article]]) -> int:
    """Past resolutions with an article: resolved/closed tickets of the article's services,
    recorded at the ticket's resolution time (history import: no new ticket events)."""
    service_kind = {s.id: kind for kind, arts in by_kind.items()
                    for a in arts for s in a.services}
    done = session.scalars(sa.select(Ticket).where(
        Ticket.status.in_([Status.resolved, Status.closed]), Ticket.resolved_at.is_not(None),
        Ticket.service_id.in_(service_kind)).order_by(Ticket.id))
    count = 0
    for ticket in done:
        if rng.random() > 0.45:
            continue
        article = rng.choice(by_kind[service_kind[ticket.service_id]])
        services.import_use(session, ticket, article, user_id=ticket.assignee_id
                            or ticket.created_by_id, at=ticket.resolved_at, resolved=True)
        count += 1
    return count


#: Requesters' self-service searches: (query, title of the public article that answers it or
#: None when nothing does, share of searchers it solved). The unanswered ones are the
#: managers' list of articles to write.
PORTAL_SEARCHES = (
    ("outlook password", "Outlook keeps asking for the password", 0.6),
    ("account locked", "Account locked after password attempts", 0.7),
    ("wifi login page", "Passenger Wi-Fi login page does not open", 0.5),
    ("boarding pass reprint", "Reissue a boarding pass after a gate change", 0.4),
    ("passport scanner kiosk", "Passport scanner on the kiosk does not read the passport", 0.3),
    ("Outlook 密码", "Outlook 反复要求输入密码", 0.6),
    ("无线网络 登录", "旅客无线网络无法打开登录页面", 0.5),
    ("parking permit", None, 0.0),
    ("lost staff badge", None, 0.0),
    ("vpn from home", None, 0.0),
    ("desk phone voicemail", None, 0.0),
)


def _portal_searches(session: Session, rng: random.Random, by_kind: dict[str, list[Article]],
                     requesters: list[User], now: datetime) -> tuple[int, int]:
    """Requesters' portal searches over the last four weeks, some solved by an article (a
    deflection: no ticket logged), some not, some finding nothing."""
    by_title = {a.title: a for arts in by_kind.values() for a in arts}
    searches = deflected = 0
    for query, title, solves in PORTAL_SEARCHES:
        article = by_title.get(title) if title else None
        if title and article is None:
            continue  # the article is not published in this demo
        found = _public_like(by_kind, article) if article is not None else 0
        for _ in range(rng.randint(2, 7)):
            requester = rng.choice(requesters)
            at = now - timedelta(minutes=rng.randint(30, 28 * 24 * 60))
            search = services.log_portal_search(session, requester=requester, query=query,
                                                now=at, results_count=found)
            searches += 1
            if article is not None and rng.random() < solves:
                services.mark_deflected(session, search, article, requester=requester,
                                        now=at + timedelta(minutes=rng.randint(1, 5)))
                deflected += 1
    return searches, deflected


def _public_like(by_kind: dict[str, list[Article]], article: Article) -> int:
    """How many public articles a requester's search for this one finds: those of its kind."""
    kind = next(kind for kind, arts in by_kind.items() if article in arts)
    return sum(1 for a in by_kind[kind] if a.audience.value == "public")


def _votes(session: Session, rng: random.Random, by_kind: dict[str, list[Article]],
           voters: list[User], now: datetime) -> int:
    count = 0
    for articles in by_kind.values():
        for article in articles:
            for voter in rng.sample(voters, k=min(len(voters), rng.randint(0, 6))):
                if voter.role is Role.requester and article.audience.value != "public":
                    continue
                services.vote(session, article, actor=voter, helpful=rng.random() < 0.8,
                              now=now - timedelta(hours=rng.randint(1, 300)))
                count += 1
    return count


def _known_error(session: Session, now: datetime) -> str | None:
    """The open major incident's children share a cause: a problem with a known error,
    pushed to the desk as must-read."""
    parent = session.scalar(sa.select(Ticket).where(
        Ticket.parent_id.is_(None), Ticket.id.in_(sa.select(Ticket.parent_id)),
        Ticket.status.not_in([Status.resolved, Status.closed, Status.cancelled]))
        .order_by(Ticket.id.desc()))
    if parent is None:
        return None
    children = session.scalars(sa.select(Ticket).where(Ticket.parent_id == parent.id)
                               .order_by(Ticket.id)).all()
    expert = session.scalar(sa.select(User).where(User.role == Role.expert).order_by(User.id))
    problem = problems.create_problem(
        session, actor=expert, now=now, title=parent.title, description=parent.description,
        service_id=parent.service_id, incident_ids=[parent.id, *[c.id for c in children]])
    problems.record_known_error(
        session, problem, actor=expert, now=now,
        root_cause="Under investigation with the supplier; all reports trace to the same "
                   "component of the service.",
        workaround="Switch to the standby (mirror) capacity and follow the manual procedure "
                   "of the service until the fix is deployed; link new calls to "
                   f"{problem.number}.")
    return problem.number
