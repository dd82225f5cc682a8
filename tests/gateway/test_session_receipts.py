"""What the kiosk prints: the certificate with 承诺达标合格证 beside its QR, and the card."""

from __future__ import annotations

from datetime import UTC, datetime

from device_drivers import render_receipt
from gateway.session import certificate_receipt, producer_card_receipt
from protocol import Certificate


def certificate(**changes) -> Certificate:
    fields = {
        "token": "bKZq-C_KqwRdXma_Hk0NmA", "serial": "ST01-20261124-0001", "style": "style1",
        "template_version": "MARA-2025-4", "product_code": "beef_cattle",
        "product_name": "肉牛", "quantity": 12, "unit": "头", "origin_code": "370902",
        "origin_detail": "一组", "producer_id": "P-ST01-ABC", "promisor_name": "王秀英",
        "promisor_phone": "13800001234", "promise": "我承诺……", "basis": ["自行检测合格"],
        "tests": [{"reading_id": "a" * 32, "analyte_code": "clenbuterol",
                   "analyte_name": "克伦特罗", "kit_id": "card", "kit_lot": "L1",
                   "call": "negative", "t_c_ratio": 1.2}],
        "issued_at": datetime(2026, 11, 24, 6, 0, tzinfo=UTC), "time_synced": True,
        "station_id": "ST01", "verify_url": "http://cloud.example/c/bKZq-C_KqwRdXma_Hk0NmA",
    }
    return Certificate.model_validate({**fields, **changes})


def test_the_certificate_receipt_has_the_fields_and_the_caption_by_the_qr():
    content = certificate_receipt(certificate(), station_name="演示服务站")
    assert content.title == "承诺达标合格证"
    assert content.qr_payload == "http://cloud.example/c/bKZq-C_KqwRdXma_Hk0NmA"
    assert content.qr_caption == "承诺达标合格证"
    lines = dict(content.lines)
    assert lines["数量"] == "12 头" and lines["产地"] == "370902 一组"
    assert lines["日期"] == "2026-11-24 14:00"  # Beijing time
    assert lines["依据"] == "自行检测合格" and lines["自检"] == "克伦特罗 阴性"
    assert lines["编号"] == "ST01-20261124-0001"
    assert "演示服务站" in content.footer
    image = render_receipt(content, width=384)
    assert image.mode == "1" and image.width == 384 and image.height > 400


def test_an_unsynchronised_clock_is_said_on_the_paper():
    content = certificate_receipt(certificate(time_synced=False))
    assert dict(content.lines)["日期"].endswith("（时钟未校准）")


def test_the_producer_card_carries_the_card_code():
    content = producer_card_receipt("王秀英", "P-ST01-ABC", "NGC-ABCDEFGHJK")
    assert content.qr_payload == "NGC-ABCDEFGHJK"
    assert ("姓名", "王秀英") in content.lines
