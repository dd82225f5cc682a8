"""Fixed texts of the commitment compliance certificate (承诺达标合格证), 2025 styles.

From MARA Order 2025 No. 4 (Certificate Management Measures, in force 2026-02-01). The promise
wording is fixed by style; both the kiosk (which issues) and the cloud (which checks and
re-issues for purchasers) use these, so they live with the wire contract.

A kiosk's certificate tokens are bound to it: ``protocol.bound_ids``.
"""

from __future__ import annotations

from .messages import CertificateStyle

TITLE = "承诺达标合格证"
TEMPLATE_VERSION = "MARA-2025-4"
TEMPLATE_VERSIONS = frozenset({TEMPLATE_VERSION})
"""The template versions the cloud accepts on a kiosk's certificate (add one when a new
style is introduced; keep an old one while its certificates may still arrive)."""

PROMISE_TEXT: dict[CertificateStyle, str] = {
    CertificateStyle.PRODUCER: (
        "我承诺生产销售的食用农产品：未使用禁用农药、兽药及其他化合物；"
        "使用的常规农药、兽药残留不超标。"
    ),
    CertificateStyle.PURCHASER: (
        "已按规定收取并保存该批次农产品承诺达标合格证或者其他质量安全合格证明；"
        "未违规使用保鲜剂、防腐剂、添加剂等。"
    ),
}

STYLE_NAME: dict[CertificateStyle, str] = {
    CertificateStyle.PRODUCER: "样式一",
    CertificateStyle.PURCHASER: "样式二",
}


def verify_url(public_base_url: str, token: str) -> str:
    """The URL a certificate's QR code carries: the cloud's public page for the token."""
    return f"{public_base_url.rstrip('/')}/c/{token}"

