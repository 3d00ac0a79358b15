"""Chinese labels of the record's coded values, for reports, checks and catalogues.

A module of its own so that what needs only a label (the 四性 checks in a bulk import's
parent) does not load the report writers (python-docx, openpyxl).
"""

from __future__ import annotations

DOC_TYPE_LABELS = {
    "business_license": "营业执照",
    "contract": "合同",
    "id_card": "身份证",
    "bank_account": "银行开户信息",
    "authorization": "授权委托书",
    "qualification": "资质证书",
    "invoice": "发票",
    "other": "其他",
}
CONFIDENTIALITY_LABELS = {"public": "公开", "internal": "一般", "secret": "秘密", "confidential": "机密"}
