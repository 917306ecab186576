"""A fixed, hand-written knowledge base of an airport IT service desk (English and Chinese).

Ids are stable: the relevance tests name the article they expect first. Articles 1-40 are
English, 41-62 Chinese, 63-66 mixed; 67-70 are drafts/retired variants for the status filters.
"""

from __future__ import annotations

from datetime import datetime, timezone

from kb import ArticleDoc

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
UPDATED = datetime(2025, 1, 15, 12, 0, tzinfo=timezone.utc)

DCS = "Departure Control"
BHS = "Baggage Handling"
RADAR = "ATC Radar"
VPN = "VPN"
IAM = "Identity"
MAIL = "Email"
WIFI = "Wi-Fi"
VDGS = "Docking Guidance"
FUEL = "Fuel System"
POS = "POS"
CATERING = "Catering"
FIDS = "FIDS"
DESKTOP = "Workstation"
NET = "Network"
PHONE = "Telephony"
SCREENING = "Security Screening"
PRINT = "Printing"
PARKING = "Parking"
FINANCE = "Finance"

_ARTICLES = [
    # --- English ------------------------------------------------------------------------------
    dict(
        id=1,
        title="Boarding pass printer jams at the gate",
        symptoms="The boarding pass printer (BTP) at the gate jams after a few passes; the feed "
        "light blinks orange and the agent cannot board passengers.",
        cause="Worn feed rollers, or card stock loaded upside down.",
        resolution="Open the top cover, remove the jammed card stock, clean the feed rollers "
        "with an alcohol wipe and reload the stock with the black stripe facing down. Print a "
        "test pass from the DCS terminal.",
        tags=["printer", "btp", "gate"],
        services=[DCS],
    ),
    dict(
        id=2,
        title="Bag tag printer prints blank labels",
        symptoms="The bag tag printer at the check-in counter feeds labels but they come out "
        "blank, without barcode or destination.",
        cause="Dirty thermal print head or labels loaded with the coating facing away.",
        resolution="Clean the thermal head with the cleaning card, reload the label roll with "
        "the shiny side towards the head and print a test tag.",
        tags=["printer", "bag tag", "check-in"],
        services=[DCS, BHS],
    ),
    dict(
        id=3,
        title="Baggage belt stopped at reclaim carousel",
        symptoms="The reclaim carousel in the arrivals hall stops and the control panel shows an "
        "emergency stop fault. Bags pile up at the feed conveyor.",
        cause="An emergency stop button was pressed or a photo-eye is blocked.",
        resolution="Check the carousel area is safe, release the pressed emergency stop, clear "
        "the blocked photo-eye and restart the belt from the BHS control room.",
        tags=["carousel", "belt", "reclaim"],
        services=[BHS],
    ),
    dict(
        id=4,
        title="Sortation system sends bags to the wrong make-up chute",
        symptoms="Bags for one flight arrive at another flight's make-up chute; the sorter "
        "reports no fault.",
        cause="The flight-to-chute allocation table was not republished after a schedule change.",
        resolution="Republish the chute allocation from the sort controller and re-induct the "
        "misrouted bags.",
        tags=["sorter", "chute"],
        services=[BHS],
        is_known_error=True,
    ),
    dict(
        id=5,
        title="Radar display freezes on controller working position",
        symptoms="The radar picture on a controller working position freezes: tracks stop "
        "updating while the clock keeps running.",
        cause="The display process loses the multicast radar feed after a network switch "
        "failover.",
        resolution="Workaround: switch the position to the standby radar feed, then restart the "
        "display service during low traffic. A permanent fix is scheduled with the vendor.",
        tags=["radar", "cwp", "display"],
        services=[RADAR],
        is_known_error=True,
    ),
    dict(
        id=6,
        title="Radar track labels overlap in dense traffic",
        symptoms="Track labels on the radar screen overlap when many aircraft are in the "
        "sector, making callsigns hard to read.",
        resolution="Enable automatic label de-cluttering in the display settings menu.",
        tags=["radar", "labels"],
        services=[RADAR],
    ),
    dict(
        id=7,
        title="VPN disconnects every hour",
        symptoms="Remote users are disconnected from the VPN every 60 minutes and must log in "
        "again.",
        cause="The session timeout of the contractor VPN profile is set to 60 minutes.",
        resolution="Workaround: reconnect the VPN client. Ask your manager to request the "
        "standard staff profile, which has an eight hour timeout.",
        tags=["vpn", "timeout"],
        services=[VPN],
        is_known_error=True,
        audience="public",
    ),
    dict(
        id=8,
        title="VPN client error 809 on hotel networks",
        symptoms="The VPN client reports error 809: the network connection between your "
        "computer and the VPN server could not be established.",
        cause="Hotel and guest networks block the IPsec ports.",
        resolution="In the VPN client settings choose the SSL mode on port 443 and connect "
        "again.",
        tags=["vpn", "error 809"],
        services=[VPN],
        audience="public",
    ),
    dict(
        id=9,
        title="Reset your domain password",
        symptoms="You forgot your password or it has expired and you cannot log in to your "
        "computer or email.",
        resolution="Open the self-service password reset portal, confirm your identity with "
        "the code sent to your phone and choose a new password of at least 14 characters.",
        tags=["password", "self-service"],
        services=[IAM],
        audience="public",
    ),
    dict(
        id=10,
        title="Account locked out after password change",
        symptoms="The domain account locks again a few minutes after it was unlocked, usually "
        "right after a password change.",
        cause="A phone or tablet keeps trying the old password from its mail app.",
        resolution="Update the password in the mail app of every mobile device, then unlock "
        "the account in Active Directory.",
        tags=["account", "lockout"],
        services=[IAM],
    ),
    dict(
        id=11,
        title="Outlook shows Disconnected and mail stays in the Outbox",
        symptoms="Outlook shows Disconnected in the status bar and sent messages stay in the "
        "Outbox.",
        cause="Outlook was left in offline mode or the profile cache is corrupt.",
        resolution="Clear Work Offline on the Send/Receive tab; if that fails, create a new "
        "Outlook profile.",
        tags=["outlook", "outbox"],
        services=[MAIL],
    ),
    dict(
        id=12,
        title="Shared mailbox not visible in Outlook",
        symptoms="A shared mailbox the user was given access to does not appear in Outlook.",
        resolution="Wait one hour for automapping, or add the mailbox manually under Account "
        "Settings, More Settings, Advanced.",
        tags=["outlook", "shared mailbox"],
        services=[MAIL],
    ),
    dict(
        id=13,
        title="Email attachments over 25 MB are rejected",
        symptoms="Messages with large attachments bounce with a message size limit error.",
        cause="The mail gateway rejects messages larger than 25 MB.",
        resolution="Share large files through the document portal and send a link instead.",
        tags=["attachment", "size limit"],
        services=[MAIL],
        audience="public",
    ),
    dict(
        id=14,
        title="Staff Wi-Fi connects but there is no internet",
        symptoms="The laptop connects to the AIRPORT-STAFF wireless network but pages do not "
        "load; a certificate warning may appear.",
        cause="The device saved the network without the RADIUS certificate.",
        resolution="Forget the AIRPORT-STAFF network, reconnect with your domain credentials "
        "and accept the RADIUS certificate when prompted.",
        tags=["wifi", "certificate"],
        services=[WIFI],
    ),
    dict(
        id=15,
        title="Passenger Wi-Fi login page does not open",
        symptoms="Passengers connect to the free airport Wi-Fi but the captive portal page "
        "never opens.",
        resolution="Ask the passenger to open any http page in the browser or turn private DNS "
        "off; restart the portal controller if many passengers report it.",
        tags=["wifi", "captive portal", "passenger"],
        services=[WIFI],
        audience="public",
    ),
    dict(
        id=16,
        title="Docking guidance shows STOP too early",
        symptoms="The visual docking guidance display at the stand shows STOP while the "
        "aircraft is still about three metres short of the stop line.",
        cause="Wrong stop position configured for the aircraft type after a fleet update.",
        resolution="Workaround: marshal the aircraft manually. Recalibrate the stop position "
        "for the aircraft type in the docking guidance configuration.",
        tags=["vdgs", "stand"],
        services=[VDGS],
        is_known_error=True,
    ),
    dict(
        id=17,
        title="Docking guidance display blank at stand",
        symptoms="The docking guidance unit at a stand shows nothing when an aircraft is "
        "expected.",
        cause="The laser scanner unit lost power after a breaker tripped.",
        resolution="Reset the breaker in the stand power cabinet and wait for the unit's "
        "self-test before the arrival.",
        tags=["vdgs", "power"],
        services=[VDGS],
    ),
    dict(
        id=18,
        title="Hydrant dispenser meter not transmitting to the fuel management system",
        symptoms="Delivered fuel quantities from a hydrant dispenser do not appear in the fuel "
        "management system; the meter shows the delivery locally.",
        cause="The dispenser's radio modem lost its connection to the fuel server.",
        resolution="Power cycle the modem on the dispenser and re-send the delivery ticket from "
        "the handheld.",
        tags=["fuel", "meter", "dispenser"],
        services=[FUEL],
    ),
    dict(
        id=19,
        title="Fuel order not received by the into-plane crew",
        symptoms="Fuel orders sent by the airline do not reach the fuelling crew's handheld.",
        resolution="Check the airline's message address in the fuel order interface and resend "
        "the order.",
        tags=["fuel", "order"],
        services=[FUEL],
    ),
    dict(
        id=20,
        title="Card payments declined at the shop POS terminal",
        symptoms="Card payments at a duty-free POS terminal are declined with Host unavailable "
        "although the card is valid.",
        cause="The terminal lost its connection to the payment host.",
        resolution="Switch the terminal to offline mode for payments under the floor limit and "
        "check the network cable of the terminal.",
        tags=["pos", "card", "payment"],
        services=[POS],
    ),
    dict(
        id=21,
        title="POS receipt printer reports paper out with a full roll",
        symptoms="The receipt printer of the till shows paper out although a new roll is "
        "loaded.",
        resolution="Load the roll so the paper comes off the bottom and clean the paper sensor.",
        tags=["pos", "receipt printer"],
        services=[POS],
    ),
    dict(
        id=22,
        title="Catering system does not receive updated passenger counts",
        symptoms="Meal numbers in the catering system stay at the booked figures; final "
        "passenger counts from departure control never arrive.",
        cause="The message queue between departure control and catering is stuck.",
        resolution="Restart the DCS to catering message queue and resend the final figures for "
        "the affected flights.",
        tags=["catering", "passenger count"],
        services=[CATERING, DCS],
    ),
    dict(
        id=23,
        title="Special meal codes missing on the catering load list",
        symptoms="Vegetarian and other special meal codes booked by passengers are missing from "
        "the load list.",
        resolution="Re-import the SSR meal codes for the flight in the catering system.",
        tags=["catering", "special meal"],
        services=[CATERING],
    ),
    dict(
        id=24,
        title="Flight information display shows the wrong gate",
        symptoms="A flight information display shows an old gate after a gate change.",
        cause="The display did not receive the update from the flight database.",
        resolution="Re-send the gate change from the resource management system and refresh "
        "the display page.",
        tags=["fids", "gate change"],
        services=[FIDS],
    ),
    dict(
        id=25,
        title="Flight information screen black after a power cut",
        symptoms="Flight information screens stay black after the power came back.",
        resolution="Power on the display player behind the screen and check it boots to the "
        "FIDS page.",
        tags=["fids", "screen"],
        services=[FIDS],
    ),
    dict(
        id=26,
        title="Computer very slow after Windows update",
        symptoms="The computer takes ten minutes to log in and programs respond slowly after "
        "the monthly Windows update.",
        cause="The update is still optimising in the background.",
        resolution="Leave the computer on and connected for one hour, then restart it.",
        tags=["windows", "performance"],
        services=[DESKTOP],
    ),
    dict(
        id=27,
        title="Blue screen on check-in workstation",
        symptoms="A check-in workstation shows a blue screen with a stop code and restarts.",
        cause="A faulty docking station driver.",
        resolution="Boot in safe mode and roll back the docking station driver.",
        tags=["blue screen", "check-in"],
        services=[DESKTOP],
    ),
    dict(
        id=28,
        title="Cannot map network drive",
        symptoms="Mapping the department network drive fails with the network path was not "
        "found.",
        resolution="Connect to the staff network or VPN first, then map the drive using the "
        "full server path.",
        tags=["network drive", "share"],
        services=[NET],
    ),
    dict(
        id=29,
        title="Desk phone shows No service",
        symptoms="The desk phone display shows No service and calls cannot be made.",
        resolution="Check the phone's network cable is in the wall socket and not the PC port; "
        "reboot the phone.",
        tags=["phone"],
        services=[PHONE],
    ),
    dict(
        id=30,
        title="Security screening X-ray image not displayed",
        symptoms="The operator screen of a cabin baggage X-ray machine shows no image while the "
        "belt runs.",
        resolution="Stop the lane, restart the image workstation and run the test piece before "
        "reopening the lane.",
        tags=["x-ray", "screening"],
        services=[SCREENING],
    ),
    dict(
        id=31,
        title="Multi-factor authentication code not received",
        symptoms="The text message with the sign-in code never arrives.",
        resolution="Use the authenticator app instead of text messages, or ask the service "
        "desk for a temporary access pass.",
        tags=["mfa", "sms"],
        services=[IAM],
        audience="public",
    ),
    dict(
        id=32,
        title="Request access to the departure control system",
        symptoms="A new check-in agent needs an account in the departure control system.",
        resolution="Submit the access request form signed by the duty manager; accounts are "
        "created within one working day.",
        tags=["access", "new starter"],
        services=[DCS],
    ),
    dict(
        id=33,
        title="Self-service kiosk stuck on Out of service",
        symptoms="A self-service check-in kiosk shows Out of service and does not accept "
        "passengers.",
        resolution="Restart the kiosk application from the kiosk management console; if it "
        "persists, check the kiosk's boarding pass printer for a jam.",
        tags=["kiosk", "self-service"],
        services=[DCS],
    ),
    dict(
        id=34,
        title="Gate reader rejects valid boarding passes",
        symptoms="The barcode reader at the boarding gate rejects valid mobile and paper "
        "boarding passes.",
        cause="The gate reader has an outdated flight list.",
        resolution="Reload the flight in the boarding application and rescan.",
        tags=["gate", "scanner", "barcode"],
        services=[DCS],
    ),
    dict(
        id=35,
        title="Office print queue stuck",
        symptoms="Documents sent to the office printer wait in the queue and never print.",
        resolution="Restart the print spooler service on the print server and resubmit.",
        tags=["printer", "queue"],
        services=[PRINT],
    ),
    dict(
        id=36,
        title="Cannot print from laptop to office printer",
        symptoms="The office printer does not appear on the laptop.",
        resolution="Add the printer from the print server using the follow-me queue.",
        tags=["printer", "laptop"],
        services=[PRINT],
    ),
    dict(
        id=37,
        title="Parking barrier does not open for staff badge",
        symptoms="The staff car park barrier ignores a valid staff badge.",
        resolution="Check the badge is registered for the car park in the access control "
        "system.",
        tags=["parking", "badge"],
        services=[PARKING],
    ),
    dict(
        id=38,
        title="Baggage conveyor motor overheating alarm",
        symptoms="The BHS control room shows a motor overheating alarm on a conveyor.",
        resolution="Stop the conveyor, let the motor cool down and check the belt tension.",
        tags=["conveyor", "motor"],
        services=[BHS],
    ),
    dict(
        id=39,
        title="Echo in the briefing room video conference",
        symptoms="Remote participants hear an echo of their own voice.",
        resolution="Mute the laptop microphones in the room and use the ceiling microphone "
        "only.",
        tags=["video conference", "audio"],
        services=[DESKTOP],
    ),
    dict(
        id=40,
        title="Gaps in radar data recording replay",
        symptoms="Replays of recorded radar data show gaps of several seconds.",
        resolution="Check the recorder disk space and the recording service log.",
        tags=["radar", "recording"],
        services=[RADAR],
    ),
    # --- Chinese ------------------------------------------------------------------------------
    dict(
        id=41,
        title="登机牌打印机卡纸",
        symptoms="登机口的登机牌打印机打印两三张后就卡纸，进纸指示灯闪烁，无法继续登机。",
        cause="搓纸轮磨损，或者票卡装反。",
        resolution="打开上盖，取出卡住的票卡，用酒精棉清洁搓纸轮，磁条朝下重新装入票卡，然后在"
        "离港系统打印一张测试登机牌。",
        tags=["打印机", "登机口"],
        services=[DCS],
        language="zh",
    ),
    dict(
        id=42,
        title="行李转盘停止运转",
        symptoms="到达大厅的行李提取转盘突然停止，控制面板显示急停故障，行李堆积。",
        cause="急停按钮被按下或者光电开关被遮挡。",
        resolution="确认现场安全后复位急停按钮，清除遮挡物，在行李系统控制室重新启动转盘。",
        tags=["行李", "转盘"],
        services=[BHS],
        language="zh",
    ),
    dict(
        id=43,
        title="雷达显示画面冻结",
        symptoms="管制席位的雷达画面冻结，航迹不再更新，但时钟仍在走。",
        cause="网络交换机切换后显示进程丢失组播雷达数据。",
        resolution="临时措施：将席位切换到备用雷达数据源，在流量低时重启显示服务。",
        tags=["雷达"],
        services=[RADAR],
        language="zh",
        is_known_error=True,
    ),
    dict(
        id=44,
        title="VPN 每小时自动断开",
        symptoms="远程办公用户的 VPN 客户端每隔六十分钟自动断开连接，需要重新登录。",
        cause="外包人员 VPN 配置文件的会话超时为六十分钟。",
        resolution="临时办法：重新连接 VPN；由经理申请更换为员工标准配置。",
        tags=["vpn"],
        services=[VPN],
        language="zh",
    ),
    dict(
        id=45,
        title="如何重置域账号密码",
        symptoms="忘记密码或者密码过期，无法登录电脑和邮箱。",
        resolution="打开自助密码重置门户，用手机收到的验证码确认身份，然后设置至少十四位的新密码。",
        tags=["密码"],
        services=[IAM],
        language="zh",
        audience="public",
    ),
    dict(
        id=46,
        title="邮件无法发送，一直停留在发件箱",
        symptoms="发送的邮件一直停留在发件箱里，状态栏显示已断开。",
        resolution="在发送/接收选项卡取消脱机工作；如果仍然不行，新建邮件配置文件。",
        tags=["邮件", "发件箱"],
        services=[MAIL],
        language="zh",
    ),
    dict(
        id=47,
        title="员工无线网络连接后无法上网",
        symptoms="笔记本电脑连接员工无线网络后打不开网页，可能出现证书提示。",
        resolution="删除已保存的无线网络，用域账号重新连接并接受证书。",
        tags=["无线"],
        services=[WIFI],
        language="zh",
    ),
    dict(
        id=48,
        title="泊位引导系统过早显示停止",
        symptoms="机位的泊位引导显示屏在飞机距离停止线还有三米时就显示停止。",
        cause="机队更新后该机型的停止位置配置错误。",
        resolution="临时措施：人工指挥飞机入位；在泊位引导配置中重新校准该机型的停止位置。",
        tags=["泊位引导"],
        services=[VDGS],
        language="zh",
        is_known_error=True,
    ),
    dict(
        id=49,
        title="加油车计量数据没有上传到加油系统",
        symptoms="管线加油车的加油量没有出现在加油系统中，但车上的计量表有记录。",
        resolution="重启加油车上的无线调制解调器，并从手持终端重新发送加油单。",
        tags=["加油"],
        services=[FUEL],
        language="zh",
    ),
    dict(
        id=50,
        title="收银机刷卡支付失败",
        symptoms="免税店收银机刷卡支付提示主机不可用，银行卡本身正常。",
        resolution="将收银机切换到离线模式处理小额支付，并检查收银机网线。",
        tags=["收银机", "支付"],
        services=[POS],
        language="zh",
    ),
    dict(
        id=51,
        title="配餐系统旅客人数没有更新",
        symptoms="配餐系统中的餐食数量一直是预订人数，离港系统的最终旅客人数没有传过来。",
        resolution="重启离港系统到配餐系统的消息队列，并为受影响航班重新发送最终人数。",
        tags=["配餐"],
        services=[CATERING],
        language="zh",
    ),
    dict(
        id=52,
        title="航显屏幕显示的登机口错误",
        symptoms="登机口变更后，航显屏幕仍然显示原来的登机口。",
        resolution="从资源管理系统重新发送登机口变更，并刷新航显页面。",
        tags=["航显"],
        services=[FIDS],
        language="zh",
    ),
    dict(
        id=53,
        title="电脑开机和登录很慢",
        symptoms="每月系统更新后，电脑开机登录要十分钟，程序反应很慢。",
        resolution="保持电脑开机并联网一小时，让更新在后台完成后重启。",
        tags=["电脑", "性能"],
        services=[DESKTOP],
        language="zh",
    ),
    dict(
        id=54,
        title="值机柜台工作站蓝屏",
        symptoms="值机柜台的工作站出现蓝屏并自动重启。",
        resolution="进入安全模式，回滚扩展坞驱动程序。",
        tags=["蓝屏"],
        services=[DESKTOP],
        language="zh",
    ),
    dict(
        id=55,
        title="自助值机设备显示暂停服务",
        symptoms="自助值机设备屏幕显示暂停服务，旅客无法办理值机。",
        resolution="在自助设备管理平台重启值机程序；如果仍然不行，检查设备里的登机牌打印机。",
        tags=["自助值机"],
        services=[DCS],
        language="zh",
    ),
    dict(
        id=56,
        title="登录离港系统提示账号被锁定",
        symptoms="值机员登录离港系统时提示账号被锁定，无法办理值机。",
        cause="多次输入错误密码，或者手机上还保存着旧密码。",
        resolution="核实身份后在账号管理平台解锁账号，并提醒更新手机上保存的密码。",
        tags=["账号", "锁定"],
        services=[IAM, DCS],
        language="zh",
    ),
    dict(
        id=57,
        title="安检X光机图像不显示",
        symptoms="安检通道X光机的操作员屏幕没有图像，但传送带在运行。",
        resolution="暂停通道，重启图像工作站，用测试件检测合格后再开放通道。",
        tags=["安检", "X光机"],
        services=[SCREENING],
        language="zh",
    ),
    dict(
        id=58,
        title="行李分拣系统分拣到错误滑槽",
        symptoms="某航班的行李被分拣到其他航班的滑槽，分拣机没有报警。",
        cause="航班变更后没有重新发布滑槽分配表。",
        resolution="在分拣控制器上重新发布滑槽分配，把错分的行李重新导入。",
        tags=["分拣"],
        services=[BHS],
        language="zh",
        is_known_error=True,
    ),
    dict(
        id=59,
        title="办公打印机队列卡住",
        symptoms="发送到办公打印机的文档一直在队列中等待，始终不打印。",
        resolution="在打印服务器上重启打印后台处理服务，然后重新提交文档。",
        tags=["打印机", "队列"],
        services=[PRINT],
        language="zh",
    ),
    dict(
        id=60,
        title="停车场道闸不识别员工卡",
        symptoms="员工停车场的道闸不识别有效的员工卡。",
        resolution="在门禁系统中确认该员工卡已登记停车场权限。",
        tags=["停车场"],
        services=[PARKING],
        language="zh",
    ),
    dict(
        id=61,
        title="收不到多因素认证验证码",
        symptoms="登录时手机一直收不到短信验证码。",
        resolution="改用身份验证器应用，或者联系服务台申请临时访问码。",
        tags=["验证码"],
        services=[IAM],
        language="zh",
        audience="public",
    ),
    dict(
        id=62,
        title="桌面电话显示无服务",
        symptoms="桌面电话屏幕显示无服务，无法拨打电话。",
        resolution="检查电话网线插在墙上的网口而不是电脑口，然后重启电话。",
        tags=["电话"],
        services=[PHONE],
        language="zh",
    ),
    # --- mixed --------------------------------------------------------------------------------
    dict(
        id=63,
        title="Outlook 提示邮箱已满 (mailbox full)",
        symptoms="Outlook 提示邮箱已满，无法接收新邮件 mailbox is full, new mail bounces.",
        resolution="归档旧邮件或清空已删除邮件；archive old items to free space.",
        tags=["outlook", "邮箱"],
        services=[MAIL],
        language="mixed",
    ),
    dict(
        id=64,
        title="DCS 登机口阅读器拒绝有效登机牌",
        symptoms="登机口的 barcode reader 拒绝有效的登机牌，boarding pass rejected at gate.",
        resolution="在登机应用中重新加载航班 (reload the flight) 后重新扫描。",
        tags=["登机口", "scanner"],
        services=[DCS],
        language="mixed",
    ),
    dict(
        id=65,
        title="Wi-Fi 证书警告 certificate warning",
        symptoms="连接 AIRPORT-STAFF 时弹出证书警告 certificate warning, 用户不确定是否接受。",
        resolution="核对证书颁发者为机场 RADIUS 服务器后接受 accept the certificate。",
        tags=["wifi", "证书"],
        services=[WIFI],
        language="mixed",
    ),
    dict(
        id=66,
        title="SAP 报销单卡在审批 expense claim stuck in approval",
        symptoms="SAP 报销单一直显示待审批 pending approval，审批人看不到。",
        resolution="在 SAP 工作流中重新分配审批人 (reassign the approver)。",
        tags=["sap", "报销"],
        services=[FINANCE],
        language="mixed",
    ),
    # --- not published ------------------------------------------------------------------------
    dict(
        id=67,
        title="VPN client error 809: registry workaround",
        symptoms="The VPN client reports error 809 on hotel networks.",
        resolution="Old workaround editing the registry; replaced by the SSL mode article.",
        tags=["vpn"],
        services=[VPN],
        status="retired",
        audience="public",
    ),
    dict(
        id=68,
        title="Radar display freeze root cause analysis",
        symptoms="Draft analysis of the radar display freeze on controller working positions.",
        resolution="To be completed with the vendor.",
        tags=["radar"],
        services=[RADAR],
        status="draft",
        is_known_error=True,
    ),
    dict(
        id=69,
        title="Baggage belt emergency stop procedure",
        symptoms="Draft: what to do when a baggage belt stops on an emergency stop.",
        resolution="Under review.",
        tags=["belt"],
        services=[BHS],
        status="in_review",
    ),
    dict(
        id=70,
        title="Password reset by phone (retired)",
        symptoms="Resetting a password by calling the service desk.",
        resolution="Retired: use the self-service portal.",
        tags=["password"],
        services=[IAM],
        status="retired",
        audience="public",
    ),
]


def corpus() -> list[ArticleDoc]:
    """Every article of the fixed corpus, as documents (fresh objects on each call)."""
    return [ArticleDoc(**{"updated_at": UPDATED, **article}) for article in _ARTICLES]


def by_id(article_id: int) -> ArticleDoc:
    return next(doc for doc in corpus() if doc.id == article_id)
