"""Chinese first, as staff write it; English through a small dictionary keyed by the Chinese."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("zh", "en")

EN: dict[str, str] = {
    "客商档案": "Partner Archive",
    "检索": "Search",
    "上传": "Upload",
    "客商": "Partners",
    "借阅": "Borrowing",
    "销毁": "Destruction",
    "审计": "Audit",
    "合规": "Compliance",
    "登录": "Sign in",
    "退出": "Sign out",
    "语言": "Language",
    "开发登录": "Development sign-in",
    "开发环境登录：为所选用户签发令牌，仅供开发使用。": (
        "Development sign-in: mints a token for the chosen user; for development only."
    ),
    "使用企业账号登录": "Sign in with the company account",
    "用户标识": "User ID",
    "角色": "Roles",
    "部门": "Departments",
    "多个部门用逗号分隔": "Separate several departments with commas",
    "密级": "Clearance",
    "未配置登录方式：请设置 OIDC，或在开发环境开启开发登录。": (
        "No sign-in is configured: set up OIDC, or enable the development sign-in in development."
    ),
    "关键词": "Keywords",
    "搜索": "Search",
    '输入中文或英文关键词，"引号"内为短语': 'Chinese or English keywords; "quotes" for a phrase',
    "全部客商": "All partners",
    "到期日从": "Expires after",
    "到期日至": "Expires before",
    "共 {n} 条结果": "{n} results",
    "文档类型": "Document type",
    "客商类型": "Partner kind",
    "筛选": "Filter",
    "清除筛选": "Clear filters",
    "没有找到可查看的文档。": "No documents you may see match.",
    "上一页": "Previous",
    "下一页": "Next",
    "第 {page} / {pages} 页": "Page {page} of {pages}",
    "档案编号": "Archive no.",
    "到期": "Expires",
    "标题": "Title",
    "状态": "Status",
    "页数": "Pages",
    "OCR 页数": "OCR pages",
    "原始文件": "Original file",
    "下载原件": "Download original",
    "上传人": "Uploaded by",
    "上传时间": "Uploaded at",
    "入库时间": "Indexed at",
    "提取字段": "Extracted fields",
    "页面": "Pages",
    "第 {n} 页": "Page {n}",
    "该页没有文字": "No text on this page",
    "页面图像": "Page image",
    "该格式不提供页面图像。": "No page images for this format.",
    "失败原因": "Reason for failure",
    "诉讼保全": "Legal hold",
    "已被替代": "Superseded",
    "所属客商": "Partner",
    "上传文档": "Upload documents",
    "选择客商": "Partner",
    "可选": "optional",
    "把文件拖到这里，或点击选择文件": "Drop files here, or click to choose",
    "支持 PDF、DOCX、PNG、JPEG、TIFF": "PDF, DOCX, PNG, JPEG, TIFF",
    "选择文件": "Choose files",
    "上传中": "Uploading",
    "已存在相同文件": "The same file is already on file",
    "请先选择客商。": "Choose a partner first.",
    "客商列表": "Partners",
    "执照号码查询": "Licence-number lookup",
    "统一社会信用代码或注册号": "Credit code or registration number",
    "查询": "Look up",
    "名称": "Name",
    "类型": "Kind",
    "信用代码": "Credit code",
    "法定代表人": "Legal representative",
    "联系人": "Contact",
    "电话": "Phone",
    "邮箱": "E-mail",
    "地址": "Address",
    "开户银行": "Bank",
    "银行账号": "Bank account",
    "合作内容": "Cooperation",
    "信用等级": "Credit rating",
    "备注": "Remarks",
    "登记客商": "Register a partner",
    "登记": "Register",
    "文档": "Documents",
    "变更记录": "Change history",
    "时间": "Time",
    "用户": "User",
    "变更": "Changes",
    "暂无": "None",
    "检索该客商的文档": "Search this partner's documents",
    "借阅申请": "Borrow requests",
    "申请借阅": "Request to borrow",
    "档案编号或文档 ID，每行一个": "Archive numbers or document IDs, one per line",
    "理由": "Reason",
    "天数": "Days",
    "提交申请": "Submit request",
    "待审批": "Pending approval",
    "我的申请": "My requests",
    "申请人": "Requester",
    "批准": "Approve",
    "驳回": "Reject",
    "归还": "Return",
    "审批意见": "Note",
    "申请时间": "Requested at",
    "到期时间": "Expires at",
    "销毁申请": "Destruction requests",
    "执行": "Execute",
    "申请销毁": "Request destruction",
    "保管期满可销毁": "Retention ended",
    "保管期满": "Retention ends",
    "鉴定意见": "Appraisal",
    "审计日志": "Audit log",
    "操作": "Action",
    "对象": "Target",
    "起始时间": "Since",
    "详情": "Details",
    "到期看板": "Expiry dashboard",
    "已过期": "Expired",
    "30 天内": "Within 30 days",
    "31–60 天": "31–60 days",
    "61–90 天": "61–90 days",
    "按部门": "By department",
    "未来 12 个月每月到期": "Expiries per month, next 12 months",
    "导出 CSV": "Export CSV",
    "剩余天数": "Days left",
    "合计": "Total",
    "出错了": "Something went wrong",
    "返回": "Back",
    "已提交": "Submitted",
    "已批准": "Approved",
    "已驳回": "Rejected",
    "操作成功。": "Done.",
    "未找到": "Not found",
    "无权操作": "Not allowed",
    "请求有误": "Invalid request",
    "冲突": "Conflict",
    "服务暂时不可用": "Service unavailable",
    "当前用户": "Signed in as",
    "跳到正文": "Skip to content",
    "全部": "All",
    "文件": "File",
    "进度": "Progress",
    "结果": "Result",
    "待处理": "Pending",
}

LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "doc_type": {
        "business_license": ("营业执照", "Business licence"),
        "contract": ("合同", "Contract"),
        "id_card": ("身份证", "ID card"),
        "bank_account": ("银行开户信息", "Bank account"),
        "authorization": ("授权委托书", "Authorisation"),
        "qualification": ("资质证书", "Qualification"),
        "other": ("其他", "Other"),
    },
    "kind": {
        "customer": ("客户", "Customer"),
        "supplier": ("供应商", "Supplier"),
        "partner": ("合作伙伴", "Partner"),
        "prospect": ("潜在客户", "Prospect"),
    },
    "confidentiality": {
        "public": ("公开", "Public"),
        "internal": ("一般", "Internal"),
        "secret": ("秘密", "Secret"),
        "confidential": ("机密", "Confidential"),
    },
    "role": {
        "staff": ("业务人员", "Staff"),
        "archivist": ("档案管理员", "Archivist"),
        "compliance": ("合规", "Compliance"),
        "admin": ("公司领导/管理员", "Admin"),
    },
    "status": {
        "queued": ("排队中", "Queued"),
        "processing": ("处理中", "Processing"),
        "indexed": ("已入库", "Indexed"),
        "failed": ("失败", "Failed"),
        "pending": ("待审批", "Pending"),
        "approved": ("已批准", "Approved"),
        "rejected": ("已驳回", "Rejected"),
        "returned": ("已归还", "Returned"),
        "expired": ("已到期", "Expired"),
        "executed": ("已销毁", "Executed"),
    },
}


def translator(lang: str) -> Callable[..., str]:
    """`t("中文", n=3)`: the text in `lang`, with `{placeholders}` filled."""

    def t(text: str, **values: object) -> str:
        chosen = EN.get(text, text) if lang == "en" else text
        return chosen.format(**values) if values else chosen

    return t


def labeller(lang: str) -> Callable[[str, str | None], str]:
    """`label("doc_type", "contract")` → 合同 / Contract; unknown values shown as they are."""
    index = 1 if lang == "en" else 0

    def label(group: str, value: str | None) -> str:
        if value is None:
            return ""
        pair = LABELS.get(group, {}).get(value)
        return pair[index] if pair else value

    return label
