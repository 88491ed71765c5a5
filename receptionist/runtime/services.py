"""The outside services, built once from the settings and handed to the web app, the CLI and workers."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import redis
from redis import Redis
from redis.driver_info import DriverInfo
from rq import Queue

from receptionist.clock import Clock, clock_from, system_clock
from receptionist.config.practice import Practice, load_practice
from receptionist.config.settings import Settings
from receptionist.jobqueue import Jobs
from receptionist.patients.cache import TierCache
from receptionist.runtime.embedded_redis import resolve_redis_url
from receptionist.store import Store
from receptionist.voice.directory import CallerDirectory

if TYPE_CHECKING:
    from receptionist.conversation.types import Engine
    from receptionist.integrations.sealing import Sealer
    from receptionist.outcomes.record import Outcomes
    from receptionist.outreach.asap import Asap
    from receptionist.outreach.campaigns import Campaigns
    from receptionist.outreach.channels import Mailer
    from receptionist.outreach.dispatch import Dispatcher
    from receptionist.outreach.limits import Limits
    from receptionist.outreach.sequencer import Sequencer
    from receptionist.telephony.params import CallParams
    from receptionist.telephony.rest import TwilioApi
    from receptionist.texting.conversation import Texting
    from receptionist.texting.replies import StaffReplies
    from receptionist.voice.callflow import CallFlow
    from receptionist.voice.outbound import OutboundVoice
    from receptionist.voice.statuses import StatusBacklog

log = logging.getLogger(__name__)

# The phone path must never wait on a sick Redis: it falls back to the store instead.
FAST_TIMEOUT = 0.25
# Clients below name their driver: without it redis-py reads its own package metadata for every new
# connection (about 10 ms), which every forked job process would pay again.
_DRIVER = DriverInfo(name="redis-py", lib_version=redis.__version__)


@dataclass
class Services:
    settings: Settings
    practice: Practice
    store: Store
    redis_url: str
    # the clock: tests and the simulator's --at hand in another one; the store stamps rows with it too
    now: Clock = field(default=system_clock)

    def __post_init__(self) -> None:
        self.store.clock = self.clock  # follows a clock replaced later (`call --at`)

    @cached_property
    def redis(self) -> Redis:
        """For the call path: short timeouts."""
        return redis.Redis.from_url(
            self.redis_url,
            driver_info=_DRIVER,
            socket_timeout=FAST_TIMEOUT,
            socket_connect_timeout=FAST_TIMEOUT,
        )

    @cached_property
    def queue_redis(self) -> Redis:
        """For RQ and bulk work (publishing, rebuilding): patient timeouts."""
        return redis.Redis.from_url(
            self.redis_url, driver_info=_DRIVER, socket_timeout=30, socket_connect_timeout=5
        )

    @cached_property
    def sealer(self) -> Sealer:
        """Encrypts and opens the API keys' signing secrets (the key: `Settings.secrets_key`)."""
        from receptionist.integrations.sealing import Sealer

        return Sealer(self.settings.secrets_key)

    @cached_property
    def cache(self) -> TierCache:
        return TierCache(self.redis)

    @cached_property
    def publish_cache(self) -> TierCache:
        return TierCache(self.queue_redis)

    @cached_property
    def directory(self) -> CallerDirectory:
        return CallerDirectory(self.store, self.cache)

    @cached_property
    def jobs(self) -> Jobs:
        """The jobs port: enqueue background jobs by name (`receptionist.jobqueue`)."""
        return Jobs(self.queue_redis)

    @property
    def queue(self) -> Queue:
        return self.jobs.queue("default")

    @property
    def outreach_queue(self) -> Queue:
        return self.jobs.queue("outreach")

    @cached_property
    def limits(self) -> Limits:
        from receptionist.outreach.limits import Limits

        return Limits(self.queue_redis)

    @cached_property
    def twilio(self) -> TwilioApi:
        """The Twilio REST client: the real API, or `TWILIO_API_BASE_URL` (the local stand-in, a test fake)."""
        from receptionist.telephony.rest import TwilioApi

        return TwilioApi(self.settings.account_sid, self.settings.auth_token, self.settings.twilio_api)

    @cached_property
    def mailer(self) -> Mailer | None:
        """Email by SMTP, or None when `SMTP_URL` is not set (the email channel is off)."""
        from receptionist.outreach.channels import Mailer, SmtpTarget

        if not self.settings.smtp_url:
            return None
        return Mailer(
            SmtpTarget.parse(self.settings.smtp_url, f"reception@{_domain(self.settings.base_url)}")
        )

    @cached_property
    def outcomes(self) -> Outcomes:
        """Outcome events: written once to the store, counted live in Redis; integrations' webhooks hear of
        each new one (wired here, the one place that knows both)."""
        from receptionist.integrations.webhooks import listener
        from receptionist.outcomes.record import Outcomes

        outcomes = Outcomes(self.store, self.redis, self.practice, self.clock)
        outcomes.log.listeners.append(listener(self.store, self.jobs))
        return outcomes

    @cached_property
    def outreach(self) -> Dispatcher:
        from receptionist.outreach.dispatch import Dispatcher

        dispatcher = Dispatcher(
            store=self.store,
            practice=self.practice,
            now=self.clock,
            twilio=self.twilio,
            mailer=self.mailer,
            limits=self.limits,
            jobs=self.jobs,
            outcomes=self.outcomes,
            base_url=self.settings.base_url,
            legacy_unsubscribe_secret=self.settings.auth_token,
        )
        from receptionist.store.asap import OFFER_PREFIX

        dispatcher.sources[OFFER_PREFIX] = self.asap  # the ASAP list's offers are texts it sends
        return dispatcher

    @cached_property
    def asap(self) -> Asap:
        """The ASAP list: opened slots offered by text, the first yes books."""
        from receptionist.outreach.asap import Asap

        return Asap(store=self.store, practice=self.practice, now=self.clock, jobs=self.jobs)

    def slot_opened(self, appointment_id: int, why: str = "cancelled") -> None:
        """An appointment was cancelled or moved: its time goes to the ASAP list, in a job (the caller, a
        webhook, never waits on it, and never fails for it)."""
        from receptionist import jobqueue

        try:
            self.jobs.enqueue(jobqueue.ASAP_OPENED, appointment_id, why, queue="outreach")
        except (redis.RedisError, OSError):
            log.warning("appointment %s: its time could not be offered to the ASAP list", appointment_id)

    @cached_property
    def campaigns(self) -> Campaigns:
        from receptionist.outreach.campaigns import Campaigns

        return Campaigns(
            store=self.store,
            practice=self.practice,
            now=self.clock,
            dispatcher=self.outreach,
            limits=self.limits,
            jobs=self.jobs,
            outcomes=self.outcomes,
            twilio=self.twilio,
            cache=self.cache,
            base_url=self.settings.base_url,
        )

    @cached_property
    def sequences(self) -> Sequencer:
        """Reactivation sequences: the next step of each patient once the one before it settles."""
        from receptionist.outreach.sequencer import Sequencer

        return Sequencer(
            store=self.store,
            practice=self.practice,
            now=self.clock,
            jobs=self.jobs,
            email_on=self.mailer is not None,
        )

    @cached_property
    def engine(self) -> Engine:
        """The conversation engine: the LLM one when `OPENAI_API_KEY` is set, else the offline one."""
        from receptionist.conversation.offline import OfflineEngine

        if not self.settings.openai_api_key:
            return OfflineEngine()
        import openai

        from receptionist.conversation.llm import LLMEngine

        timeout = self.settings.openai_timeout_s
        client = openai.OpenAI(
            api_key=self.settings.openai_api_key,
            base_url=self.settings.openai_base_url or None,
            timeout=timeout,
            max_retries=0,
        )
        return LLMEngine(client, self.settings.openai_model, timeout_s=timeout, fallback=OfflineEngine())

    @cached_property
    def callflow(self) -> CallFlow:
        from receptionist.voice.callflow import CallFlow

        return CallFlow(
            practice=self.practice,
            store=self.store,
            redis=self.redis,
            directory=self.directory,
            engine=self.engine,
            outcomes=self.outcomes,
            now=self.clock,
            base_url=self.settings.base_url,
            slot_opened=self.slot_opened,
        )

    @cached_property
    def statuses(self) -> StatusBacklog:
        """Status callbacks kept until SQL takes them: in Redis, else in a spool file in the data folder."""
        from receptionist.voice.statuses import StatusBacklog

        return StatusBacklog(self.redis, self.settings.home / "status-backlog.jsonl")

    def apply_status(self, params: CallParams, attempt: str | None) -> None:
        """One kept status callback, applied after a journal drain (the worker's backlog drain)."""
        if self.callflow.status(params, journal_drained=True) and attempt:
            self.outreach.settle_call(attempt, params)

    @cached_property
    def outbound_voice(self) -> OutboundVoice:
        from receptionist.voice.outbound import OutboundVoice

        return OutboundVoice(
            practice=self.practice,
            store=self.store,
            dispatcher=self.outreach,
            callflow=self.callflow,
            twilio=self.twilio,
            outcomes=self.outcomes,
            base_url=self.settings.base_url,
        )

    @cached_property
    def texting(self) -> Texting:
        """Two-way texting: a text to a practice number answered as a conversation (`receptionist/texting`)."""
        from receptionist.outreach.optout import opt_out
        from receptionist.texting.conversation import Texting

        def opted_out(patient_id: str) -> None:
            opt_out(self.store, [patient_id], how="text", now=self.now())

        return Texting(
            practice=self.practice,
            store=self.store,
            redis_client=self.redis,
            now=self.clock,
            on_opt_out=opted_out,
            on_slot_opened=self.slot_opened,
        )

    @cached_property
    def staff_texts(self) -> StaffReplies:
        """Staff replies from the inbox, through Twilio within the gates (`texting/replies.py`)."""
        from receptionist.texting.replies import StaffReplies

        return StaffReplies(
            practice=self.practice,
            store=self.store,
            threads=self.texting.threads,
            twilio=lambda: self.twilio,
            now=self.clock,
            base_url=self.settings.base_url,
        )

    def clock(self) -> dt.datetime:
        """`now()`, looked up at each call: components hold this, so a clock replaced later is the one read."""
        return self.now()

    def close(self) -> None:
        engine = self.__dict__.get("engine")
        client = getattr(engine, "client", None)
        if client is not None:
            client.close()
        for name in ("redis", "queue_redis"):
            client = self.__dict__.get(name)
            if client is not None:
                client.close()
        self.store.dispose()


def _domain(base_url: str) -> str:
    import urllib.parse

    host = urllib.parse.urlsplit(base_url).hostname or "localhost"
    return "localhost" if host.replace(".", "").isdigit() else host


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    """Open the store (migrated), find or start Redis, read the practice file."""
    store = Store(settings.store_url)
    if migrate:
        store.migrate()
    services = Services(
        settings=settings,
        practice=load_practice(settings.practice_file),
        store=store,
        redis_url=resolve_redis_url(settings.redis_url, settings.home),
        now=clock_from(settings.receptionist_clock),
    )
    if migrate:
        from receptionist.integrations.sealing import seal_plain_rows

        seal_plain_rows(store, services.sealer)  # signing secrets written before they were kept encrypted
    return services
