"""The items a partner's file may be required to hold, and the registration form's fields.

Kept apart from the rule that reads them so that settings can check a configuration
against them without loading the database layer.
"""

ITEMS = {
    "business_license": "有效营业执照",
    "bank_account": "银行开户信息",
    "signatory_id_card": "签约人身份证",
    "authorization": "授权委托书（签约人非法定代表人时）",
    "registration_form": "基本资料登记表",
}
REGISTRATION_FIELDS = {
    "name": "企业名称",
    "credit_code": "统一社会信用代码",
    "legal_representative": "法定代表人",
    "address": "地址",
    "contact_person": "联系人",
    "phone": "联系电话",
    "fax": "联系传真",
    "email": "联系邮箱",
    "bank_name": "开户银行",
    "bank_account": "银行账号",
    "cooperation": "主要合作产品",
}
