"""Configuration: one TOML file, validated as a whole, frozen, passed explicitly.

``load_config(path, env)`` parses the file with :mod:`tomllib`, validates it with the pydantic
models below (unknown keys rejected), resolves secrets from the environment and raises a single
:class:`~bridge.errors.ConfigError` listing *every* problem with its path
(``platforms[1].offers.stock_buffer: must be >= 0``). Nothing here connects anywhere.

Secrets never need to be in the file: ``api_key_env`` names an environment variable and
``BRIDGE_SHOP_DATABASE_URL`` overrides ``shop.database_url``.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bridge.errors import ConfigError

TASKS: tuple[str, ...] = ("offers", "accept", "import", "ship")
DEFAULT_SCHEDULES: dict[str, str] = {
    "offers": "0 * * * mon-fri",
    "accept": "0 * * * *",
    "import": "20 * * * *",
    "ship": "40 * * * *",
}
RECOMMENDED: dict[str, str] = {
    "offers": "hourly on working days",
    "accept": "hourly",
    "import": "hourly, 20 minutes after accept",
    "ship": "hourly",
}
ENV_DATABASE_URL = "BRIDGE_SHOP_DATABASE_URL"
ENV_CONFIG_PATH = "BRIDGE_CONFIG"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

_PREFIX_RE = re.compile(r"^[A-Za-z0-9_]{0,32}$")
_CODE_RE = r"^[a-z0-9_-]+$"
_ENV_NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"

NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
Money = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=6)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# --- [shop] --------------------------------------------------------------------------------------


class ShopConfig(_Model):
    database_url: SecretStr = Field(description="SQLAlchemy URL of the PrestaShop database")
    table_prefix: str = Field("ps_", description="PrestaShop table prefix (_DB_PREFIX_)")
    id_shop: PosInt = Field(1, description="PrestaShop shop the bridge works for")
    id_lang: NonNegInt = Field(0, description="language of product names; 0 = PS_LANG_DEFAULT")
    connect_timeout_s: PosInt = Field(10, description="database connection timeout")
    pool_size: PosInt = Field(5, description="connections kept open to the shop database")

    @field_validator("table_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not _PREFIX_RE.match(v):
            raise ValueError("must match ^[A-Za-z0-9_]{0,32}$ (it goes into SQL identifiers)")
        return v

    @field_validator("database_url")
    @classmethod
    def _url(cls, v: SecretStr) -> SecretStr:
        raw = v.get_secret_value()
        if not re.match(r"^(mysql\+pymysql|mariadb\+pymysql|sqlite)://", raw):
            raise ValueError("must start with mysql+pymysql://, mariadb+pymysql:// or sqlite://")
        return v


# --- [logging] -----------------------------------------------------------------------------------


class LoggingConfig(_Model):
    format: Literal["json", "console"] = Field("json", description="json lines, or console for humans")
    level: Literal["debug", "info", "warning", "error"] = Field("info", description="minimum level")


# --- [daemon] ------------------------------------------------------------------------------------


class DaemonConfig(_Model):
    timezone: str = Field("Europe/Paris", description="time zone of the cron schedules")
    stop_timeout_s: PosInt = Field(60, description="graceful stop budget after SIGTERM")
    misfire_grace_s: PosInt = Field(900, description="a run later than this is skipped")
    min_manual_interval_s: NonNegInt = Field(
        60, description="a manual run sooner than this after the last one is skipped (unless --force)"
    )
    lock_name: str = Field("", description="single-instance lock name; empty = derived from the shop")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


# --- [http] --------------------------------------------------------------------------------------


class HttpConfig(_Model):
    enabled: bool = Field(False, description="serve /health, /metrics and /tasks/<task>")
    bind: str = Field("127.0.0.1", description="address to listen on; loopback by default")
    port: Annotated[int, Field(ge=1, le=65535)] = Field(8787, description="TCP port")
    token_env: str = Field("BRIDGE_HTTP_TOKEN", description="environment variable holding the token")
    token: SecretStr | None = Field(None, description="token in the file (allowed, warned about)")


# --- [[platforms]] -------------------------------------------------------------------------------


class ScheduleConfig(_Model):
    offers: str = Field(DEFAULT_SCHEDULES["offers"], description="cron (5 fields); empty = off")
    accept: str = Field(DEFAULT_SCHEDULES["accept"], description="cron (5 fields); empty = off")
    import_: str = Field(DEFAULT_SCHEDULES["import"], alias="import", description="cron; empty = off")
    ship: str = Field(DEFAULT_SCHEDULES["ship"], description="cron (5 fields); empty = off")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def for_task(self, task: str) -> str:
        return str(getattr(self, "import_" if task == "import" else task))


class AlertConfig(_Model):
    offers_after_min: PosInt = Field(1500, description="/health 503 when offers has not succeeded for this long")
    accept_after_min: PosInt = Field(180, description="same for accept")
    import_after_min: PosInt = Field(180, description="same for import")
    ship_after_min: PosInt = Field(360, description="same for ship")

    def for_task(self, task: str) -> int:
        return int(getattr(self, f"{task}_after_min"))


class OffersConfig(_Model):
    sku: Literal["reference", "ean13", "id"] = Field("reference", description="offer SKU source")
    product_id: Literal["ean13", "upc", "reference", "sku", "none"] = Field(
        "ean13", description="what goes in product-id"
    )
    product_id_type: str = Field("EAN", description="product-id-type sent with product_id")
    fallback_product_id_type: str = Field(
        "SHOP_SKU", description="when product_id is empty: send the SKU with this type; empty = none"
    )
    stock_buffer: NonNegInt = Field(0, description="units kept back from Mirakl")
    max_quantity: NonNegInt = Field(0, description="cap on the quantity sent; 0 = no cap")
    backorders: Literal["real_stock", "fixed_quantity"] = Field(
        "real_stock", description="products orderable out of stock: real stock or a fixed quantity"
    )
    backorder_quantity: NonNegInt = Field(0, description="quantity sent with backorders = fixed_quantity")
    exclude_categories: list[int] = Field(default_factory=list, description="id_category not sent")
    exclude_manufacturers: list[int] = Field(default_factory=list, description="id_manufacturer not sent")
    exclude_references: list[str] = Field(default_factory=list, description="references (SKUs) not sent")
    exclude_virtual: bool = Field(True, description="virtual products are not sent")
    include_packs: bool = Field(False, description="packs are sent (their own stock row is used)")
    leadtime_to_ship_days: NonNegInt = Field(0, description="leadtime-to-ship column; 0 = not sent")
    state_code: str = Field("11", description="offer condition (OF61 code), 11 = new")
    logistic_class: str = Field("", description="logistic-class column; empty = not sent")
    send_discounts: bool = Field(True, description="time-bounded reductions sent as discount-price")
    price_multiplier: Annotated[Decimal, Field(gt=0)] = Field(Decimal("1"), description="price x this")
    price_addition: Decimal = Field(Decimal("0"), description="then + this amount")
    price_rounding: Literal["none", ".99", ".x0"] = Field("none", description="final price ending")
    floor_price: Money = Field(Decimal("0"), description="never send below this (offer not sent)")
    full_every_hours: PosInt = Field(24, description="full resync period; otherwise deltas only")
    import_wait_s: NonNegInt = Field(120, description="how long to poll OF02 before leaving it to the next run (0: none; the lines are then recorded as pending and the next run applies the outcome)")
    poll_interval_s: Annotated[float, Field(gt=0)] = Field(5.0, description="pause between OF02 polls")


class AcceptanceConfig(_Model):
    enabled: bool = Field(True, description="the accept task answers orders")
    on_shortage: Literal["leave", "refuse"] = Field("leave", description="order short of stock")
    partial: bool = Field(False, description="accept the servable lines, refuse the rest")
    on_unknown_sku: Literal["leave", "refuse"] = Field("leave", description="line whose SKU is unknown")
    batch_size: Annotated[int, Field(ge=1, le=1000)] = Field(
        100, description="orders decided and recorded per transaction before their OR21 calls"
    )


class OrdersConfig(_Model):
    import_states: list[str] = Field(default_factory=lambda: ["SHIPPING"], description="OR11 states imported")
    overlap_min: NonNegInt = Field(120, description="re-read window before the last successful run")
    catchup_days: PosInt = Field(7, description="daily catch-up pass length")
    on_shortage: Literal["import", "hold"] = Field("import", description="stock short at import time")
    flag_out_of_stock: bool = Field(True, description="add PrestaShop's out-of-stock state when short")
    order_state: str = Field("PS_OS_PAYMENT", description="configuration key (or numeric id) of the initial state")
    out_of_stock_state: str = Field("PS_OS_OUTOFSTOCK_PAID", description="state added when short")
    payment_label: str = Field("", description="orders.payment label; empty = platform label")
    payment_module: str = Field("mirakl_bridge", description="orders.module technical name")
    customer_email: Literal["notification", "placeholder"] = Field(
        "notification", description="customer_notification_email, or the placeholder"
    )
    placeholder_email: str = Field(
        "{customer_id}@{platform}.mirakl.invalid", description="placeholder e-mail template"
    )
    guest: bool = Field(True, description="create guest customers")
    carriers: dict[str, NonNegInt] = Field(
        default_factory=dict, description="Mirakl shipping_type_code -> PrestaShop carrier id_reference"
    )
    default_carrier_reference: NonNegInt = Field(0, description="carrier id_reference when unmapped; 0 = hold")
    tax_mode: Literal["TAX_INCLUDED", "TAX_EXCLUDED"] = Field("TAX_INCLUDED", description="OR11 order_tax_mode")
    private_message: bool = Field(True, description="store the Mirakl order id as a private message")


class ShipConfig(_Model):
    enabled: bool = Field(True, description="the ship task confirms shipments")
    carriers: dict[str, str] = Field(
        default_factory=dict, description="PrestaShop carrier id_reference -> Mirakl carrier code (SH21)"
    )
    wait_for_tracking_min: NonNegInt = Field(180, description="wait this long for a tracking number")
    allow_without_tracking: bool = Field(False, description="then confirm without tracking")
    sync_cancellations: bool = Field(False, description="cancel PrestaShop orders cancelled on Mirakl")
    cancelled_state: str = Field("PS_OS_CANCELED", description="configuration key of the cancelled state")


class PlatformConfig(_Model):
    code: Annotated[str, Field(pattern=_CODE_RE, min_length=1, max_length=32)] = Field(
        description="unique platform code ([a-z0-9_-]+) used in --platform, logs, metrics, bridge tables"
    )
    label: str = Field("", description="human name; defaults to code")
    api_url: str = Field(description="https://<operator>.mirakl.net (http only for loopback)")
    api_key_env: Annotated[str, Field(pattern=_ENV_NAME_RE)] | None = Field(
        None, description="environment variable holding the Mirakl shop API key"
    )
    api_key: SecretStr | None = Field(None, description="allowed, warned about; prefer api_key_env")
    shop_id: PosInt | None = Field(None, description="Mirakl shop id for keys that see several shops")
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = Field("FR", description="destination ISO alpha-2")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = Field("EUR", description="ISO 4217")
    connect_timeout_s: Annotated[float, Field(gt=0)] = Field(10.0, description="HTTP connect timeout")
    read_timeout_s: Annotated[float, Field(gt=0)] = Field(60.0, description="HTTP read timeout")
    max_attempts: Annotated[int, Field(ge=1, le=10)] = Field(5, description="attempts of a retriable call")
    max_retry_s: Annotated[float, Field(gt=0)] = Field(120.0, description="total retry budget of one call")
    ca_bundle: str = Field("", description="CA bundle path for private PKI; TLS is always verified")
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig, description="cron schedule per task")
    alerts: AlertConfig = Field(default_factory=AlertConfig, description="staleness thresholds of /health")
    offers: OffersConfig = Field(default_factory=OffersConfig, description="offers task")
    acceptance: AcceptanceConfig = Field(default_factory=AcceptanceConfig, description="accept task")
    orders: OrdersConfig = Field(default_factory=OrdersConfig, description="import task")
    ship: ShipConfig = Field(default_factory=ShipConfig, description="ship task")

    # resolved at load time, never read from the file
    resolved_api_key: SecretStr | None = Field(None, exclude=True)

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an https:// URL")
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            raise ValueError("plain http is only allowed for loopback hosts (use https)")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _key_source(self) -> PlatformConfig:
        if self.api_key is None and self.api_key_env is None:
            raise ValueError("api_key_env (or api_key) is required")
        return self

    @property
    def display_name(self) -> str:
        return self.label or self.code

    def api_key_value(self) -> str:
        key = self.resolved_api_key or self.api_key
        return key.get_secret_value() if key else ""


class Config(_Model):
    shop: ShopConfig
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    platforms: list[PlatformConfig] = Field(min_length=1)

    # filled by load_config: non-fatal remarks (api key in file, frequent schedule, file mode)
    warnings: tuple[str, ...] = Field((), exclude=True)
    resolved_http_token: SecretStr | None = Field(None, exclude=True)
    source_path: str = Field("", exclude=True)

    @model_validator(mode="after")
    def _unique_codes(self) -> Config:
        seen: set[str] = set()
        for p in self.platforms:
            if p.code in seen:
                raise ValueError(f"platform code {p.code!r} is used twice")
            seen.add(p.code)
        return self

    def platform(self, code: str) -> PlatformConfig:
        for p in self.platforms:
            if p.code == code:
                return p
        raise ConfigError([f"--platform: unknown platform {code!r} (known: {', '.join(self.codes)})"])

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.platforms]

    def http_token(self) -> str:
        """The endpoint token: http.token, else the variable named by http.token_env (read at load time)."""
        if self.http.token is not None:
            return self.http.token.get_secret_value()
        return self.resolved_http_token.get_secret_value() if self.resolved_http_token else ""


# --- loading -------------------------------------------------------------------------------------


def resolve_config_path(cli_path: str | None, env: Mapping[str, str]) -> Path:
    """``--config``, else ``$BRIDGE_CONFIG``, else ``./config.toml``."""
    return Path(cli_path or env.get(ENV_CONFIG_PATH) or "config.toml")


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and resolve the config file; raise one ConfigError listing every problem."""
    env = os.environ if env is None else env
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found (use --config or $BRIDGE_CONFIG)"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read: {exc.strerror}"]) from None
    return config_from_dict(raw, env, source=path)


def config_from_dict(raw: dict[str, Any], env: Mapping[str, str], *, source: Path | None = None) -> Config:
    raw = _apply_env_overrides(raw, env)
    errors: list[str] = []
    errors += _secret_errors(raw, env)
    errors += _schedule_errors(raw)
    cfg: Config | None = None
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        errors = [_format_error(e) for e in exc.errors()] + errors
    if errors or cfg is None:
        raise ConfigError(sorted(dict.fromkeys(errors), key=_path_order))
    platforms = [
        p.model_copy(update={"resolved_api_key": SecretStr(env[p.api_key_env])})
        if p.api_key_env and p.api_key is None
        else p
        for p in cfg.platforms
    ]
    warnings = _warnings(cfg, raw, source)
    token = env.get(cfg.http.token_env, "")
    return cfg.model_copy(
        update={"platforms": platforms, "warnings": tuple(warnings), "source_path": str(source or ""),
                "resolved_http_token": SecretStr(token) if token else None}
    )


def _apply_env_overrides(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    url = env.get(ENV_DATABASE_URL)
    if not url:
        return raw
    raw = dict(raw)
    shop = dict(raw.get("shop") or {}) if isinstance(raw.get("shop"), dict) else {}
    shop["database_url"] = url
    raw["shop"] = shop
    return raw


def _platform_dicts(raw: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    plats = raw.get("platforms")
    if not isinstance(plats, list):
        return []
    return [(i, p) for i, p in enumerate(plats) if isinstance(p, dict)]


def _secret_errors(raw: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    errors = []
    for i, p in _platform_dicts(raw):
        name = p.get("api_key_env")
        if isinstance(name, str) and re.match(_ENV_NAME_RE, name) and "api_key" not in p:
            if not env.get(name):
                errors.append(f"platforms[{i}].api_key_env: environment variable {name} is not set")
    http = raw.get("http")
    if isinstance(http, dict) and http.get("enabled") is True and "token" not in http:
        name = http.get("token_env", "BRIDGE_HTTP_TOKEN")
        if isinstance(name, str) and not env.get(name):
            errors.append(f"http.token_env: environment variable {name} is not set (the endpoint needs a token)")
    return errors


def _schedule_errors(raw: dict[str, Any]) -> list[str]:
    errors = []
    for i, p in _platform_dicts(raw):
        sched = p.get("schedule")
        if not isinstance(sched, dict):
            continue
        for task in TASKS:
            expr = sched.get(task)
            if not isinstance(expr, str) or not expr.strip():
                continue
            try:
                gap = min_gap_s(expr)
            except ValueError as exc:
                errors.append(f"platforms[{i}].schedule.{task}: {exc}")
                continue
            if gap < 60:
                errors.append(
                    f"platforms[{i}].schedule.{task}: runs every {gap:.0f} s; Mirakl allows at most one call "
                    "per minute per endpoint"
                )
    return errors


def min_gap_s(expr: str, tz: str = "UTC") -> float:
    """Smallest gap between two fire times of a crontab expression over the next days.

    Five fields are standard cron; a sixth leading field is seconds. Raises ValueError when the
    expression is not valid.
    """
    from apscheduler.triggers.cron import CronTrigger

    trigger = cron_trigger(expr, tz)
    now = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday: covers working-day schedules
    prev = trigger.get_next_fire_time(None, now)
    if prev is None:
        raise ValueError(f"{expr!r} never fires")
    gap = float("inf")
    t = prev
    for _ in range(200):
        nxt = trigger.get_next_fire_time(t, t + timedelta(seconds=1))
        if nxt is None:
            break
        gap = min(gap, (nxt - t).total_seconds())
        t = nxt
    assert isinstance(trigger, CronTrigger)
    return gap


def cron_trigger(expr: str, tz: str = "UTC") -> Any:
    from apscheduler.triggers.cron import CronTrigger

    from bridge.cronexpr import apscheduler_expr  # APScheduler 3 reads weekday numbers 0-6 as mon-sun

    fields = apscheduler_expr(expr).split()
    try:
        if len(fields) == 5:
            return CronTrigger.from_crontab(" ".join(fields), timezone=ZoneInfo(tz))
        if len(fields) == 6:
            second, minute, hour, day, month, dow = fields
            return CronTrigger(
                second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=dow,
                timezone=ZoneInfo(tz),
            )
    except (ValueError, KeyError) as exc:
        raise ValueError(f"invalid cron expression {expr!r}: {exc}") from None
    raise ValueError(f"invalid cron expression {expr!r}: expected 5 fields (min hour day month weekday)")


def _warnings(cfg: Config, raw: dict[str, Any], source: Path | None) -> list[str]:
    out = []
    for i, p in enumerate(cfg.platforms):
        if p.api_key is not None:
            out.append(f"platforms[{i}].api_key: API key stored in the config file; prefer api_key_env")
        for task in TASKS:
            expr = p.schedule.for_task(task)
            if expr and min_gap_s(expr) < 300:
                out.append(
                    f"platforms[{i}].schedule.{task}: runs more often than every 5 minutes "
                    "(Mirakl recommends 5 minutes or more)"
                )
    if cfg.http.token is not None:
        out.append("http.token: token stored in the config file; prefer token_env")
    if cfg.http.enabled and cfg.http.bind not in LOOPBACK_HOSTS:
        out.append(f"http.bind: the endpoint listens on {cfg.http.bind}, not only on loopback")
    shop = raw.get("shop") if isinstance(raw.get("shop"), dict) else {}
    file_has_secret = any(p.api_key is not None for p in cfg.platforms) or cfg.http.token is not None or (
        isinstance(shop, dict) and _url_has_password(str(shop.get("database_url", "")))
    )
    if source is not None and file_has_secret:
        try:
            mode = source.stat().st_mode
        except OSError:
            mode = 0
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            out.append(f"{source}: holds secrets and is readable by group/others (chmod 600)")
    return out


def _url_has_password(url: str) -> bool:
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}


def _format_error(err: Any) -> str:
    loc = err.get("loc", ())
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("function-after[_key_source()]",):
            continue
        else:
            part = "import" if part == "import_" else str(part)
            path += f".{part}" if path else part
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in _MESSAGES:
        msg = _MESSAGES[kind]
    elif kind == "greater_than_equal":
        msg = f"must be >= {ctx.get('ge')}"
    elif kind == "greater_than":
        msg = f"must be > {ctx.get('gt')}"
    elif kind == "less_than_equal":
        msg = f"must be <= {ctx.get('le')}"
    elif kind == "string_pattern_mismatch":
        msg = f"must match {ctx.get('pattern')}"
    elif kind == "literal_error":
        msg = f"must be one of {ctx.get('expected')}"
    elif kind == "value_error":
        msg = str(ctx.get("error", err.get("msg", "")))
    else:
        msg = str(err.get("msg", "invalid value")).replace("Input should be", "must be")
    return f"{path or '(top level)'}: {msg}"


def _path_order(line: str) -> tuple[int, str]:
    return (0 if line.startswith(("shop", "logging", "daemon", "http")) else 1, line)


def redacted_url(url: str) -> str:
    """The database URL with user and password hidden, for logs and reports."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.scheme.startswith("sqlite"):
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://***@{host}{port}{parts.path}"
