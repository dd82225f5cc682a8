"""Words of the public page and the dashboard, in zh-CN (default) and en.

``pick_language`` takes ``?lang=`` first, then the browser's Accept-Language, else zh-CN.
Templates call ``t(key)``; a missing key shows the key itself (and a test checks both
catalogues have the same keys). Keys not in this dict are looked up in the TOML catalogues of
``cloud_bridge.locales`` (the notification pages' words are there).
"""

from __future__ import annotations

from collections.abc import Callable

from cloud_bridge import locales

from .i18n_ingest import WORDS

LANGUAGES = ("zh-CN", "en")

CATALOG: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "承诺达标合格证",
        "site": "农安 · 合格证查验",
        "status_valid": "有效",
        "status_voided": "已作废",
        "status_revoked": "已撤销",
        "status_valid_note": "本证由登记的检测终端签发，真实有效。",
        "status_voided_note": "本证已由签发终端作废，不能再作为合格证明。",
        "status_revoked_note": "本证已被监管人员撤销，不能再作为合格证明。",
        "status_source_withdrawn": "来源证书已撤销或作废",
        "status_source_withdrawn_note": "本证所依据的来源合格证已被撤销或作废，"
        "不能再作为合格证明。",
        "withdrawn_sources": "已撤销或作废的来源",
        "genuine": "真实性",
        "genuine_yes": "已验证：记录来自已登记终端的签名数据",
        "product": "产品名称",
        "quantity": "数量（重量）",
        "origin": "产地",
        "producer": "承诺人",
        "contact": "联系方式",
        "issued_at": "开具日期",
        "time_received": "（终端时钟未同步，显示云端接收时间）",
        "time_corrected": "（终端时钟未同步，已按同次开机的校时记录推算）",
        "promise": "承诺内容",
        "basis": "承诺依据",
        "tests": "检测情况",
        "analyte": "检测项目",
        "result": "结果",
        "call_negative": "阴性（合格）",
        "call_positive": "阳性",
        "call_suspect": "可疑",
        "call_invalid": "无效",
        "kit": "试剂",
        "serial": "编号",
        "style": "样式",
        "station": "服务站",
        "device": "检测终端",
        "checks": "市场查验",
        "no_checks": "尚无查验记录",
        "check_accepted": "查验通过",
        "check_rejected": "查验不通过",
        "sources": "来源合格证",
        "void_reason": "作废原因",
        "revoke_reason": "撤销原因",
        "not_found_title": "未找到合格证",
        "not_found_text": "没有与此二维码对应的合格证。请核对二维码，或向出示者索取原证。",
        "error_title": "出错了",
        "rate_limited": "请求过于频繁，请稍后再试。",
        "language": "English",
        "footer": "电子合格证与纸质合格证具有同等效力。个人信息已做脱敏处理。",
        "dashboard": "运维看板",
        "fleet": "终端",
        "alerts": "告警",
        "stats": "统计",
        "producers": "生产者",
        "certificates": "合格证",
        "dead_letters": "拒收消息",
        "login": "登录",
        "logout": "退出",
        "api_key": "访问密钥",
        "login_failed": "密钥无效或已吊销。",
        "forbidden": "当前账号无权访问此页面。",
        "online": "在线",
        "offline": "离线",
        "unknown": "未知",
        "last_seen": "最近通信",
        "outbox": "待发记录",
        "oldest": "最早待发",
        "clock_offset": "时钟偏差",
        "disk": "磁盘剩余",
        "versions": "版本",
        "calibration": "校准",
        "kits": "试剂库存",
        "acked": "已确认序号",
        "tests_per_day": "每日检测数（红色为阳性）",
        "positives_by_product": "阳性（按产品）",
        "positives_by_analyte": "阳性（按检测项目）",
        "positives_by_place": "阳性（按地区）",
        "certificates_per_day": "每日开具合格证",
        "total_tests": "检测总数",
        "tests_by_product": "检测（按产品）",
        "total_positives": "阳性",
        "total_certificates": "合格证",
        "credit": "信用等级",
        "export": "导出",
        "search": "搜索",
        "revoke": "撤销此证",
        "reason": "原因",
        "history": "变更记录",
        "devices": "终端登记",
        "device_enrolled": "在用",
        "device_retired": "已停用",
        "enrolled_at": "登记时间",
        "retired_at": "停用时间",
        "retire": "停用此终端",
        "reenable": "恢复此终端",
        "retire_warning": "停用后，此终端发来的消息一律拒收，并失去消息服务器登录（密码与证书）。"
                          "终端上未确认的记录会保留，恢复后仍可补传。",
        "reenable_warning": "恢复后，此终端的消息重新接收，并获得新的消息服务器密码（只显示一次）；"
                            "旧证书仍作废，需重新签发。",
        "type_device_id": "再次输入终端编号以确认",
        "retire_needs_supervisor": "停用或恢复终端需要监管账号。",
        "broker_update": "消息服务器",
        "new_broker_password": "新的消息服务器密码（只显示一次，请填入终端的 gateway.toml）",
        "broker_username": "用户名",
        "broker_password": "密码",
        "action": "操作",
        "actor": "操作人",
        "no_alerts": "没有告警",
        "days": "天",
        "alert_offline": "离线过久",
        "alert_positive": "阳性结果",
        "alert_invalid_rate": "无效检测过多",
        "alert_calibration": "校准到期",
        "alert_kit_expiry": "试剂将过期",
        "alert_kit_low": "试剂不足",
        "alert_seq_gap": "序号缺失",
        "alert_unsynced_clock": "时钟未同步的记录",
        "alert_clock_offset": "时钟偏差",
        "alert_disk_low": "磁盘不足",
        "alert_dead_letters": "拒收消息",
        "alert_kiosk_alarm": "终端告警",
    },
    "en": {
        "title": "Commitment compliance certificate",
        "site": "Nongan · certificate check",
        "status_valid": "Valid",
        "status_voided": "Voided",
        "status_revoked": "Revoked",
        "status_valid_note": "Issued by an enrolled testing kiosk; genuine and current.",
        "status_voided_note": "Voided by the kiosk that issued it; no longer proof of compliance.",
        "status_revoked_note": "Revoked by a supervisor; no longer proof of compliance.",
        "status_source_withdrawn": "A source certificate was revoked or voided",
        "status_source_withdrawn_note": "A certificate this one was re-issued from has been "
        "revoked or voided; it is no longer proof of compliance.",
        "withdrawn_sources": "Withdrawn sources",
        "genuine": "Genuine",
        "genuine_yes": "Verified: signed data from an enrolled kiosk",
        "product": "Product",
        "quantity": "Quantity",
        "origin": "Origin",
        "producer": "Promisor",
        "contact": "Contact",
        "issued_at": "Issued",
        "time_received": "(kiosk clock not synchronised: time received by the cloud)",
        "time_corrected": "(kiosk clock not synchronised: corrected from a later sync)",
        "promise": "Promise",
        "basis": "Basis",
        "tests": "Tests",
        "analyte": "Analyte",
        "result": "Result",
        "call_negative": "negative (pass)",
        "call_positive": "positive",
        "call_suspect": "suspect",
        "call_invalid": "invalid",
        "kit": "Kit",
        "serial": "Serial",
        "style": "Style",
        "station": "Station",
        "device": "Kiosk",
        "checks": "Market checks",
        "no_checks": "No checks recorded yet",
        "check_accepted": "accepted",
        "check_rejected": "rejected",
        "sources": "Source certificates",
        "void_reason": "Reason voided",
        "revoke_reason": "Reason revoked",
        "not_found_title": "Certificate not found",
        "not_found_text": "No certificate matches this QR code. Check the code, or ask the "
                          "seller for the original certificate.",
        "error_title": "Something went wrong",
        "rate_limited": "Too many requests; please try again shortly.",
        "language": "中文",
        "footer": "An electronic certificate has the same effect as a paper one. Personal data "
                  "is masked.",
        "dashboard": "Fleet dashboard",
        "fleet": "Kiosks",
        "alerts": "Alerts",
        "stats": "Statistics",
        "producers": "Producers",
        "certificates": "Certificates",
        "dead_letters": "Refused messages",
        "login": "Log in",
        "logout": "Log out",
        "api_key": "API key",
        "login_failed": "That key is unknown or revoked.",
        "forbidden": "Your key may not open this page.",
        "online": "online",
        "offline": "offline",
        "unknown": "unknown",
        "last_seen": "Last seen",
        "outbox": "Outbox",
        "oldest": "Oldest unsent",
        "clock_offset": "Clock offset",
        "disk": "Disk free",
        "versions": "Versions",
        "calibration": "Calibration",
        "kits": "Kit stock",
        "acked": "Acked seq",
        "tests_per_day": "Tests per day (red: positive)",
        "positives_by_product": "Positives by product",
        "positives_by_analyte": "Positives by analyte",
        "positives_by_place": "Positives by place",
        "certificates_per_day": "Certificates per day",
        "total_tests": "Tests",
        "tests_by_product": "Tests by product",
        "total_positives": "Positives",
        "total_certificates": "Certificates",
        "credit": "Credit level",
        "export": "Export",
        "search": "Search",
        "revoke": "Revoke this certificate",
        "reason": "Reason",
        "history": "History",
        "devices": "Enrolled kiosks",
        "device_enrolled": "in service",
        "device_retired": "retired",
        "enrolled_at": "Enrolled",
        "retired_at": "Retired",
        "retire": "Retire this kiosk",
        "reenable": "Re-enable this kiosk",
        "retire_warning": "Once retired, every message from this kiosk is refused and it loses "
                          "its broker login (password and certificates). The records it has "
                          "not had acknowledged stay on the kiosk and arrive if it is "
                          "re-enabled.",
        "reenable_warning": "Once re-enabled, this kiosk's messages are accepted again and it "
                            "gets a new broker password (shown once); its old certificates "
                            "stay revoked: issue a new one.",
        "type_device_id": "Type the device id again to confirm",
        "retire_needs_supervisor": "Retiring or re-enabling a kiosk needs a supervisor key.",
        "broker_update": "Broker",
        "new_broker_password": "New broker password (shown once: put it in the kiosk's "
                               "gateway.toml)",
        "broker_username": "Username",
        "broker_password": "Password",
        "action": "Action",
        "actor": "By",
        "no_alerts": "No alerts",
        "days": "days",
        "alert_offline": "offline too long",
        "alert_positive": "positive result",
        "alert_invalid_rate": "many invalid readings",
        "alert_calibration": "calibration due",
        "alert_kit_expiry": "kits expiring",
        "alert_kit_low": "kits running low",
        "alert_seq_gap": "sequence gap",
        "alert_unsynced_clock": "records with an unsynchronised clock",
        "alert_clock_offset": "clock offset",
        "alert_disk_low": "disk low",
        "alert_dead_letters": "refused messages",
        "alert_kiosk_alarm": "kiosk alarm",
    },
}


for _lang, _words in WORDS.items():  # the ingest pages' words (i18n_ingest)
    CATALOG[_lang].update(_words)


def pick_language(query_lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` wins; then the first supported language the browser lists; else zh-CN."""
    if query_lang in LANGUAGES:
        return query_lang
    if query_lang and query_lang.lower().startswith("en"):
        return "en"
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "zh-CN"


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **params)``: this module's words first, then the TOML catalogues of
    ``cloud_bridge.locales`` (where new words go), else the key itself."""
    words = CATALOG.get(lang, CATALOG["zh-CN"])
    more = locales.Translator(lang if lang in locales.LANGUAGES else "zh-CN")

    def t(key: str, **params: object) -> str:
        if key in words:
            return words[key].format(**params) if params else words[key]
        return more(key, **params) if more.has(key) else key

    return t
