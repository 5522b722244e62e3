"""The channels that leave this service: SMS through an HTTP gateway, e-mail through SMTP, and the
WeCom and DingTalk group robots. (The in-app inbox is stored here and sends nothing.)

Every provider has one method, ``send(message) -> Answer``: it never raises for what the other
side answered — a refusal is ``Answer(ok=False, permanent=True)``, a hiccup (timeout, 5xx, rate
limit) ``Answer(ok=False, permanent=False)``, retried later with backoff. The sender wraps every
call in its own timeout as well, so a provider that hangs cannot hold the others up.

SMS goes through one interface (``SmsProvider``): ``SMS_PROVIDER`` names the class to use
("module:Class", built with the service config), so an operator can plug in a real provider's
adapter without touching the rest.
"""

import abc
import base64
import hashlib
import hmac
import importlib
import smtplib
import time
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import requests

ANSWER_LIMIT = 500  # characters of a provider's answer kept with the delivery


@dataclass(frozen=True)
class Message:
    delivery_id: int
    channel: str
    address: str  # mobile, e-mail address, or robot group
    mention: str | None  # robots: the mobile to @-mention
    title: str
    body: str
    sms: str
    robot: str


@dataclass(frozen=True)
class Answer:
    ok: bool
    detail: str
    permanent: bool = False

    @classmethod
    def sent(cls, detail):
        return cls(True, _clip(detail))

    @classmethod
    def retry(cls, detail):
        return cls(False, _clip(detail))

    @classmethod
    def refused(cls, detail):
        return cls(False, _clip(detail), permanent=True)


def _clip(text):
    text = str(text)
    return text if len(text) <= ANSWER_LIMIT else text[: ANSWER_LIMIT - 1] + "…"


def _http_answer(response, ok):
    """Map an HTTP answer: ``ok(json)`` decides a 2xx; 408/429/5xx are worth retrying, other 4xx not."""
    detail = f"{response.status_code} {response.text}"
    if 200 <= response.status_code < 300:
        return ok(response)
    if response.status_code in (408, 429) or response.status_code >= 500:
        return Answer.retry(detail)
    return Answer.refused(detail)


def http_session(concurrency):
    """A session keeping as many connections per host as sends may run at once (requests keeps 10:
    a burst of 20 sends threw connections away and opened new ones)."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=concurrency)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Provider(abc.ABC):
    """One channel's delivery: ``send`` returns an ``Answer`` (sent, retry or refused)."""

    channel = None

    @abc.abstractmethod
    def send(self, message): ...


# --- SMS ------------------------------------------------------------------------------------------


class SmsProvider(Provider):
    """What every SMS adapter offers. ``signature`` is the sender name the gateway prefixes (e.g.
    【红星德百】); templates count it within ``SMS_MAX_LENGTH``."""

    channel = "sms"


class HttpSmsGateway(SmsProvider):
    """A generic HTTP SMS gateway: ``POST SMS_GATEWAY_URL`` with JSON
    ``{"to", "text", "reference"}`` and ``Authorization: Bearer SMS_GATEWAY_API_KEY``; any 2xx is
    accepted. ``reference`` is the delivery id, so a gateway that deduplicates by it never sends
    a retried message twice."""

    def __init__(self, config):
        self.url = config["SMS_GATEWAY_URL"]
        self.api_key = config.get("SMS_GATEWAY_API_KEY")
        self.signature = config.get("SMS_SIGNATURE") or ""
        self.timeout = float(config.get("SEND_TIMEOUT", 5))
        self.http = http_session(int(config.get("SEND_CONCURRENCY", 20)))

    def send(self, message):
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = self.http.post(
                self.url,
                json={
                    "to": message.address,
                    "text": f"{self.signature}{message.sms}",
                    "reference": str(message.delivery_id),
                },
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            return Answer.retry(f"gateway unreachable: {exc}")
        return _http_answer(response, lambda r: Answer.sent(f"{r.status_code} {r.text}"))


def sms_provider(config):
    """The configured SMS adapter, or None when no gateway is configured."""
    if not config.get("SMS_GATEWAY_URL"):
        return None
    module, _, name = str(config.get("SMS_PROVIDER") or f"{__name__}:HttpSmsGateway").partition(":")
    cls = getattr(importlib.import_module(module), name)
    if not issubclass(cls, SmsProvider):
        raise TypeError(f"SMS_PROVIDER {module}:{name} is not an SmsProvider")
    return cls(config)


# --- e-mail ---------------------------------------------------------------------------------------


class SmtpMailer(Provider):
    """Plain-text e-mail through an SMTP server (STARTTLS and login when configured)."""

    channel = "email"

    def __init__(self, config):
        self.host = config["SMTP_HOST"]
        self.port = int(config.get("SMTP_PORT") or 25)
        self.user = config.get("SMTP_USER")
        self.password = config.get("SMTP_PASSWORD")
        self.starttls = bool(config.get("SMTP_STARTTLS"))
        self.sender = config.get("MAIL_FROM") or "noreply@localhost"
        self.sender_name = config.get("MAIL_FROM_NAME") or ""
        self.timeout = float(config.get("SEND_TIMEOUT", 5))

    def send(self, message):
        mail = EmailMessage()
        mail["From"] = formataddr((self.sender_name, self.sender))
        mail["To"] = message.address
        mail["Subject"] = message.title
        mail["Message-ID"] = make_msgid(idstring=str(message.delivery_id))
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                # Step by step rather than sendmail(): the server's own answer to DATA (its queue
                # id) is what an operator needs to trace the message.
                smtp.ehlo_or_helo_if_needed()
                code, reply = smtp.mail(self.sender)
                if code != 250:
                    return _smtp_answer(code, reply)
                code, reply = smtp.rcpt(message.address)
                if code not in (250, 251):
                    return _smtp_answer(code, reply)
                code, reply = smtp.data(mail.as_bytes())
                return _smtp_answer(code, reply)
        except smtplib.SMTPResponseException as exc:
            return _smtp_answer(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            return Answer.retry(f"SMTP server unreachable: {exc}")


def _smtp_answer(code, reply):
    detail = f"{code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
    if 200 <= code < 300:
        return Answer.sent(detail)
    return Answer.refused(detail) if code >= 500 else Answer.retry(detail)


# --- group robots ---------------------------------------------------------------------------------


class Robots(Provider):
    """Group robots (webhooks) per staff group: a district, 'alliance', or 'default' for groups
    without a robot of their own."""

    DEFAULT_GROUP = "default"
    # errcodes the robot platforms use for "too many messages": worth trying again later.
    RATE_LIMITED = ()

    def __init__(self, robots, timeout, concurrency=20):
        self.robots = {str(group): robot for group, robot in (robots or {}).items() if robot}
        self.timeout = float(timeout)
        self.http = http_session(concurrency)

    def group_for(self, wanted):
        """The robot group that reaches ``wanted`` (its own robot, else the default), or None."""
        if wanted in self.robots:
            return wanted
        return self.DEFAULT_GROUP if self.DEFAULT_GROUP in self.robots else None

    def send(self, message):
        robot = self.robots.get(message.address)
        if robot is None:
            return Answer.refused(f"no {self.channel} robot for group {message.address!r} any more")
        url, body = self.request(robot, message)
        try:
            response = self.http.post(url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            return Answer.retry(f"robot unreachable: {exc}")
        return _http_answer(response, self._errcode)

    def _errcode(self, response):
        try:
            code = response.json().get("errcode")
        except ValueError:
            return Answer.retry(f"{response.status_code} not JSON: {response.text}")
        detail = f"{response.status_code} {response.text}"
        if code == 0:
            return Answer.sent(detail)
        return Answer.retry(detail) if code in self.RATE_LIMITED else Answer.refused(detail)

    @abc.abstractmethod
    def request(self, robot, message): ...


class WeComRobots(Robots):
    """WeCom (企业微信) group robots: ``WECOM_ROBOTS`` maps a group to its webhook URL."""

    channel = "wecom"
    RATE_LIMITED = (45009,)

    def request(self, robot, message):
        text = {"content": message.robot}
        if message.mention:
            text["mentioned_mobile_list"] = [message.mention]
        return robot, {"msgtype": "text", "text": text}


class DingTalkRobots(Robots):
    """DingTalk (钉钉) group robots: ``DINGTALK_ROBOTS`` maps a group to ``{url, secret}``; with a
    secret every request is signed (timestamp and HMAC-SHA256), as the robot's security setting asks."""

    channel = "dingtalk"
    RATE_LIMITED = (130101,)

    def request(self, robot, message):
        robot = robot if isinstance(robot, dict) else {"url": robot}
        url = robot["url"]
        if robot.get("secret"):
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(_dingtalk_signature(robot["secret"]))
        content = message.robot
        if message.mention:
            # DingTalk shows the mention only when the text carries it too.
            content = f"{content} @{message.mention}"
        body = {"msgtype": "text", "text": {"content": content}, "at": {"atMobiles": [], "isAtAll": False}}
        if message.mention:
            body["at"]["atMobiles"] = [message.mention]
        return url, body


def _dingtalk_signature(secret, now=None):
    timestamp = str(int((now if now is not None else time.time()) * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return {"timestamp": timestamp, "sign": base64.b64encode(digest).decode()}


def providers(config):
    """The configured providers by channel; a channel left unconfigured is absent (its deliveries
    wait, visible in ``stats``, until it is configured)."""
    timeout, concurrency = config.get("SEND_TIMEOUT", 5), int(config.get("SEND_CONCURRENCY", 20))
    wecom, dingtalk = config.get("WECOM_ROBOTS"), config.get("DINGTALK_ROBOTS")
    found = {
        "sms": sms_provider(config),
        "email": SmtpMailer(config) if config.get("SMTP_HOST") else None,
        "wecom": WeComRobots(wecom, timeout, concurrency) if wecom else None,
        "dingtalk": DingTalkRobots(dingtalk, timeout, concurrency) if dingtalk else None,
    }
    return {channel: provider for channel, provider in found.items() if provider is not None}
