"""Configuration: one settings class, read from PARTNER_ARCHIVE_* environment variables."""

from __future__ import annotations

import ipaddress
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that must never sign tokens outside development.
DEVELOPMENT_SECRET = "development-only-secret-do-not-use"
MIN_AUDIT_RETENTION_DAYS = 180
_WEAK_SECRETS = {"", "secret", "changeme", "change-me", DEVELOPMENT_SECRET}


class UnsafeExposure(RuntimeError):
    """Development defaults (a guessable secret, the sign-in that mints any identity) would be
    reachable from the network."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost; a name that is not an address (an in-process test
    transport's "testserver", a Unix socket's path) is no network either."""
    if host in ("localhost", "") or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return not any(char in host for char in ".:")


class Environment(StrEnum):
    development = "development"
    production = "production"


class Settings(BaseSettings):
    """Every knob of the service; the names are the contract's, prefixed PARTNER_ARCHIVE_."""

    model_config = SettingsConfigDict(env_prefix="PARTNER_ARCHIVE_", extra="ignore")

    environment: Environment = Environment.development
    data_dir: Path = Path("./data")
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: int = 50
    max_body_kb: int = 1024
    """Largest request body other than an upload (JSON, forms)."""
    page_image_cache_mb: int = 64
    """Page images drawn for the web page, kept in memory (least recently used go first)."""
    database_url: str | None = None
    queue_url: str | None = None
    log_json: bool = False

    # Elasticsearch: an existing cluster when es_url is set, else the local node.
    es_url: str | None = None
    es_api_key: SecretStr | None = None
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_ca_file: Path | None = None
    es_index_prefix: str = "partner-archive"
    es_request_timeout: float = 10.0
    es_local_port: int = 9200
    es_local_transport_port: int | None = None
    """None: the first free port from ES_LOCAL_PORT + 100 upwards (9300–9399 for 9200)."""
    es_local_heap_mb: int = 512
    es_java_home: Path | None = None
    es_distribution_dir: Path | None = None
    es_replicas: int = 0

    # Tokens: HS256 with a shared secret, or RS256 from a company SSO's JWKS.
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    jwt_algorithm: str = "HS256"
    jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None

    # Numbering: {prefix} comes from the partner's kind (供应商 GYS, 客户 KH, …).
    archive_no_format: str = "{prefix}-{year}-{seq:06d}"
    archive_no_prefixes: dict[str, str] = {
        "supplier": "GYS",
        "customer": "KH",
        "partner": "HZ",
        "prospect": "QZ",
    }

    # 保管期限 per document type (DA/T 22-2015): 永久 Y, 定期30年 D30, 定期10年 D10. Stored on each
    # document at intake; destruction may be proposed that many years after it expires (or
    # after intake when it has no expiry); Y is never eligible.
    retention_periods: dict[str, str] = {
        "business_license": "D30",
        "contract": "D30",
        "id_card": "D10",
        "bank_account": "D30",
        "authorization": "D10",
        "qualification": "D30",
        "invoice": "D30",
        "other": "D10",
    }

    # 档号 (DA/T 22-2015): 全宗号-门类代码·年度-保管期限-机构（问题）代码-件号. The 件号 counts
    # gap-free within everything before it. {org} comes from organization_codes by department
    # (the department's name when it has no code); leave it out of the format to drop the level.
    fonds_no: str = "Q001"
    archive_category: str = "WS"
    archival_code_format: str = "{fonds}-{category}·{year}-{retention}-{item:04d}"
    organization_codes: dict[str, str] = {}

    # 四性检测 (GB/T 18894-2016, DA/T 70-2018).
    intake_checks: bool = True
    """Run the four-property checks at intake; off only to measure what they cost (bench/)."""
    archival_formats: list[str] = [
        "application/pdf",
        "application/ofd",
        "image/jpeg",
        "image/tiff",
    ]
    """Formats accepted for long-term keeping (GB/T 18894-2016 6.5: OFD, PDF, JPEG, TIFF)."""
    required_fields: dict[str, list[str]] = {
        "business_license": ["credit_code", "name"],
        "id_card": ["id_number", "name"],
        "contract": ["party_a", "party_b"],
        "bank_account": ["bank_name", "account_no"],
        "invoice": ["invoice_no", "issued_on", "amount", "seller_name", "buyer_name"],
    }
    """Fields each document type must carry to pass 完整性 (beyond the record's own metadata)."""
    clamd_socket: str | None = None
    """ClamAV daemon: a Unix socket path, or host:port."""
    clamscan_command: str | None = None
    """ClamAV command-line scanner (e.g. /usr/bin/clamscan) when no daemon is configured."""
    clamav_database: Path | None = None
    """Signature database for clamscan (-d); its default database when unset."""
    recheck_days: int = 30
    """The periodic re-check covers every document within this many days (a daily share)."""
    recheck_hour: int = 2
    check_alert_webhook: str | None = None
    check_alert_emails: list[str] = []

    # Audit log: 网络安全法 Art. 21 keeps network logs at least six months.
    audit_retention_days: int = 180
    # The company's departments: partners and documents belong to one of these, and the
    # forms offer them to choose from (a department typed by hand is a typo waiting to happen).
    departments: list[str] = [
        "采购部",
        "销售部",
        "财务部",
        "法务部",
        "市场部",
        "工程部",
        "物流部",
        "行政部",
        "人力资源部",
        "合规部",
        "档案室",
    ]

    # A pending partner's documents are numbered under a provisional number until approval
    # gives the archive number: {prefix} is this, the format and sequence as above.
    provisional_no_prefix: str = "LS"

    # 暂停建议: a supplier evaluation scoring below this proposes suspension to the manager.
    suspension_score_below: float = 60.0

    # 齐全: what a partner's file must hold, per kind (items: see archive/partner_life/items.py).
    completeness_rules: dict[str, list[str]] = {
        "supplier": [
            "business_license", "bank_account", "signatory_id_card", "authorization", "registration_form"
        ],
        "customer": [
            "business_license", "bank_account", "signatory_id_card", "authorization", "registration_form"
        ],
        "partner": ["business_license", "registration_form"],
        "prospect": [],
    }
    """Kind → required items; a kind not listed needs nothing."""
    completeness_registration_fields: list[str] = [
        "credit_code",
        "legal_representative",
        "address",
        "contact_person",
        "phone",
        "bank_name",
        "bank_account",
        "cooperation",
    ]
    """The 基本资料登记表 fields that must be filled for the registration_form item."""

    # Where the office is: times are shown, and "today" is counted, in this zone.
    timezone: str = "Asia/Shanghai"

    # Expiry notices: a daily job tells each department what enters the window.
    notify_within_days: int = 30
    notify_hour: int = 8
    notify_webhooks: dict[str, str] = {}
    """Department → webhook URL; the key "*" serves departments without their own."""
    notify_emails: dict[str, list[str]] = {}
    """Department → e-mail addresses; the key "*" serves departments without their own."""
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_sender: str = "partner-archive@localhost"

    # Ingest worker.
    ocr_engine: Literal["tesseract", "ppocr"] = "ppocr"
    """The recogniser: PP-OCR (rapidocr on ONNX Runtime, models in the wheel) or Tesseract."""
    ocr_languages: str = "chi_sim+eng"
    ocr_dpi: int = 300
    ocr_workers: int = 0
    max_pages: int = 2000
    max_image_pixels: int = 60_000_000
    max_inflated_mb: int = 200
    """Largest a DOCX may grow to when unzipped (zip bombs)."""
    ocr_page_timeout_seconds: float = 120.0
    lease_seconds: int = 300
    max_attempts: int = 3
    worker_threads: int = 1
    worker_nice: int = 10
    """Added to a worker's niceness (Tesseract inherits it): searches on the same cores keep
    the CPU they need, OCR takes what is left."""

    # Web interface
    # The development sign-in page mints a token for any chosen user: never in production.
    web_dev_login: bool = False
    allow_dev_defaults_beyond_loopback: bool = False
    """Let the development secret or sign-in answer on an address other than loopback."""
    web_session_secret: SecretStr | None = None
    """Signs the session and sign-in cookies; defaults to a key derived from jwt_secret."""
    web_cookie_secure: bool = False
    web_session_hours: int = 8
    web_default_lang: str = "zh"
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_url: str | None = None
    oidc_scopes: str = "openid profile email"
    oidc_roles_claim: str = "roles"
    oidc_departments_claim: str = "departments"
    oidc_clearance_claim: str = "clearance"

    # Performance
    ocr_cache: bool = True
    """Keep OCR results by page-image hash in DATA_DIR/ocr-cache: a re-upload never repeats OCR."""
    metrics_port: int | None = None
    """Serve /metrics (Prometheus) on this port of its own, never on the public API's; unset: off."""
    metrics_host: str = "127.0.0.1"
    import_jobs: int = 0
    """Extraction processes of `partner-archive import`; 0 means one per core."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"未知的时区 {value} (unknown time zone; e.g. Asia/Shanghai)") from exc
        return value

    @model_validator(mode="after")
    def _refuse_unknown_rules(self) -> Settings:
        # Late import: the item names live with the rule that reads them.
        from archive.partner_life.items import ITEMS, REGISTRATION_FIELDS

        unknown = sorted({item for items in self.completeness_rules.values() for item in items} - set(ITEMS))
        if unknown:
            raise ValueError(
                "PARTNER_ARCHIVE_COMPLETENESS_RULES 含未知项目 (unknown completeness items):"
                f" {', '.join(unknown)}; known: {', '.join(ITEMS)}"
            )
        unknown = sorted(set(self.completeness_registration_fields) - set(REGISTRATION_FIELDS))
        if unknown:
            raise ValueError(
                "PARTNER_ARCHIVE_COMPLETENESS_REGISTRATION_FIELDS 含未知字段 (unknown fields):"
                f" {', '.join(unknown)}; known: {', '.join(REGISTRATION_FIELDS)}"
            )
        if self.provisional_no_prefix in self.archive_no_prefixes.values():
            raise ValueError(
                "PARTNER_ARCHIVE_PROVISIONAL_NO_PREFIX 不能与档案编号前缀相同"
                " (the provisional prefix must differ from every archive-number prefix)"
            )
        return self

    @field_validator("departments")
    @classmethod
    def _clean_departments(cls, value: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(name.strip() for name in value if name.strip()))
        if not cleaned:
            raise ValueError("部门列表不能为空 (PARTNER_ARCHIVE_DEPARTMENTS may not be empty)")
        return cleaned

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.environment is Environment.development or self.jwks_url:
            return self
        if self.uses_development_secret:
            raise ValueError(
                "PARTNER_ARCHIVE_JWT_SECRET 过弱或仍是默认值：生产环境需要至少 32 个字符的随机密钥"
                " (outside development a JWT secret of at least 32 random characters is required)"
            )
        return self

    @model_validator(mode="after")
    def _keep_audit_long_enough(self) -> Settings:
        if self.audit_retention_days < MIN_AUDIT_RETENTION_DAYS:
            raise ValueError(
                f"PARTNER_ARCHIVE_AUDIT_RETENTION_DAYS 不得少于 {MIN_AUDIT_RETENTION_DAYS} 天"
                f" (audit entries are kept at least {MIN_AUDIT_RETENTION_DAYS} days)"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self) -> date:
        """Today where the office is (an upload at 07:00 Beijing time is not yesterday's)."""
        return datetime.now(self.zone).date()

    @property
    def uses_development_secret(self) -> bool:
        """Tokens are signed with the development value or another secret anyone could guess."""
        if self.jwks_url:
            return False
        # model_copy(update=...) may hand in a plain string.
        secret = self.jwt_secret
        secret = secret.get_secret_value() if isinstance(secret, SecretStr) else str(secret)
        return secret in _WEAK_SECRETS or len(secret) < 32

    @property
    def development_defaults(self) -> list[str]:
        """What may answer on loopback only: the development secret, the development sign-in."""
        found = []
        if self.uses_development_secret:
            found.append("PARTNER_ARCHIVE_JWT_SECRET")
        if self.web_dev_login and self.environment is Environment.development:
            found.append("PARTNER_ARCHIVE_WEB_DEV_LOGIN")
        return found

    def refuse_development_defaults_beyond_loopback(self, host: str | None = None) -> None:
        """Refuse to serve `host` (the configured one by default) with development defaults on,
        unless ALLOW_DEV_DEFAULTS_BEYOND_LOOPBACK says so explicitly."""
        host = self.host if host is None else host
        if self.allow_dev_defaults_beyond_loopback or is_loopback(host) or not self.development_defaults:
            return
        raise UnsafeExposure(
            f"开发用的默认设置（{', '.join(self.development_defaults)}）只能在本机回环地址上使用，"
            f"不能监听 {host}：请设置强随机的 PARTNER_ARCHIVE_JWT_SECRET（或 JWKS_URL）并关闭"
            " PARTNER_ARCHIVE_WEB_DEV_LOGIN；确需如此请明确设置"
            " PARTNER_ARCHIVE_ALLOW_DEV_DEFAULTS_BEYOND_LOOPBACK=true"
            f" (the development secret and sign-in answer on loopback only, not on {host}; set a strong"
            " JWT secret and turn the development sign-in off, or force it with"
            " PARTNER_ARCHIVE_ALLOW_DEV_DEFAULTS_BEYOND_LOOPBACK=true)"
        )

    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def originals_dir(self) -> Path:
        return self.data_path / "originals"

    @property
    def ocr_cache_dir(self) -> Path | None:
        return self.data_path / "ocr-cache" if self.ocr_cache else None

    @property
    def local_es_dir(self) -> Path:
        return self.data_path / "elasticsearch"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_path / 'archive.db'}"

    @property
    def resolved_queue_url(self) -> str:
        return self.queue_url or f"sqlite:///{self.data_path / 'queue.db'}"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def uses_local_elasticsearch(self) -> bool:
        return not self.es_url

    @property
    def effective_es_url(self) -> str:
        return self.es_url or f"http://127.0.0.1:{self.es_local_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
