"""Wiring of the notification service: settings, store, consumers, dispatcher, HTTP app."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI

from notification import api, api_portal, api_privacy, handlers, portal_sync
from notification.channels import EmailChannel, WebhookChannel
from notification.config import DEV_PRIVACY_KEY, NotificationSettings, load_unit_directory
from notification.dispatcher import Dispatcher
from notification.egress import GuardedTransport, parse_networks
from notification.handoff import WakeAfterBatch
from notification.live_subscriptions import LiveSubscriptions
from notification.portal_backlog import PortalBacklog
from notification.portal_sender import PortalSender
from notification.portal_sync import PortalSyncStore
from notification.retry import RetryPolicy
from notification.secretbox import SecretBox
from notification.sms import SmsChannel, build_sms_provider
from notification.store import NotificationStore
from notification.subscription_watch import SubscriptionWatch
from notification.subscriptions import EgressPolicy
from notification.templates import DisplayNames, Renderer
from shared.app import serve, service_app
from shared.clock import Clock
from shared.command_line import service_arguments
from shared.events.dossier import Channel
from shared.handlers import combined
from shared.mongo.lease import Lease
from shared.runtime import ServiceRuntime, service_runtime
from shared.settings_env import read_settings
from shared.topics import (
    APPLICANT_CONTACTS,
    DOSSIER_EVENTS,
    NOTIFICATION_EVENTS,
    OPERATIONS_EVENTS,
    topic_name,
)

SERVICE = "notification"
DESCRIPTION = (
    "Notification: applicants and units are told at every step by email and SMS, agency "
    "systems by signed webhooks. Every delivery attempt is recorded and proven with "
    "notification events."
)
log = logging.getLogger(__name__)


def build_dispatcher(
    runtime: ServiceRuntime,
    settings: NotificationSettings,
    store: NotificationStore,
    http: httpx.AsyncClient,
    box: SecretBox | None = None,
) -> Dispatcher:
    """The dispatcher with its channels, renderer and retry policy, from settings."""
    retry = settings.retry
    # A failed delivery is dead-lettered under the topic of the fact that asked for it.
    dossier_events = topic_name(settings.kafka.topic_prefix, DOSSIER_EVENTS)
    runtime.dead_letters.expect(dossier_events, ("delivery_failed",))
    return Dispatcher(
        store=store,
        channels={
            Channel.EMAIL: EmailChannel(settings.smtp, runtime.clock),
            Channel.SMS: SmsChannel(build_sms_provider(settings.sms)),
            Channel.WEBHOOK: WebhookChannel(http, settings.webhook),
        },
        renderer=Renderer(DisplayNames.from_catalogue(), settings.options.lookup_base_url),
        units=runtime.units,
        dead_letters=runtime.dead_letters,
        clock=runtime.clock,
        retry=RetryPolicy(retry.max_attempts, retry.initial_s, retry.max_s, retry.jitter_s),
        settings=settings.dispatch,
        pause_after=settings.webhook.pause_after_failures,
        topic_prefix=settings.kafka.topic_prefix,
        consumer_group=f"{settings.kafka.topic_prefix}{SERVICE}",
        instance=settings.dispatch.instance or f"{socket.gethostname()}:{settings.http.port}",
        secrets=box,
    )


def webhook_client(settings: NotificationSettings) -> httpx.AsyncClient:
    """The deliveries' HTTP client: no redirects, no proxies from the environment, and
    connections only to addresses the egress policy admits (checked at each connection)."""
    allowed = parse_networks(settings.webhook.allowed_networks)
    return httpx.AsyncClient(
        follow_redirects=False, trust_env=False, transport=GuardedTransport(allowed)
    )


def portal_client() -> httpx.AsyncClient:
    """The portal sender's HTTP client: no redirects, no proxies from the environment.
    Unlike webhooks, whose URLs subscribers give, its one endpoint is the operator's own
    setting (an adapter on the internal network, or make run's receiver on loopback), so
    the webhook egress policy does not apply to it."""
    return httpx.AsyncClient(follow_redirects=False, trust_env=False)


def egress_policy(settings: NotificationSettings) -> EgressPolicy:
    if settings.webhook.allow_http:
        log.warning("LT_NOTIFICATION_WEBHOOK_ALLOW_HTTP is on: for local development only")
    return EgressPolicy(
        settings.webhook.allow_http, parse_networks(settings.webhook.allowed_networks)
    )


def create_app(settings: NotificationSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The notification app; connections are opened by its lifespan, not here."""
    settings = settings or NotificationSettings()
    directory = load_unit_directory(settings.options.unit_channels_file)
    if settings.options.privacy_key.get_secret_value() == DEV_PRIVACY_KEY:
        log.warning("LT_NOTIFICATION_PRIVACY_KEY is the development default: set it")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            webhook_client(settings) as http,
            portal_client() as portal_http,
            service_runtime(SERVICE, settings, clock) as runtime,
        ):
            store = NotificationStore(runtime.db)
            await store.ensure_indexes()
            record_retention = timedelta(days=settings.options.delivery_record_retention_days)
            await store.expire_kept_records(runtime.clock.now() + record_retention)
            box = SecretBox(settings.options.privacy_key.get_secret_value())
            dispatcher = build_dispatcher(runtime, settings, store, http, box)
            wake = WakeAfterBatch(dispatcher.wake, dispatcher.hand_over)
            watch = SubscriptionWatch(store)
            store.subscriptions_changed = watch.invalidate
            planning = handlers.Planning(
                store=store,
                directory=directory,
                privacy_key=settings.options.privacy_key.get_secret_value(),
                clock=runtime.clock,
                personal_data_retention=timedelta(
                    days=settings.options.personal_data_retention_days
                ),
                record_retention=record_retention,
                on_recorded=wake.recorded,
                subscriptions=LiveSubscriptions(store, lambda: watch.current),
                claims=dispatcher.hand_offs,
            )
            portal_store = PortalSyncStore(runtime.db)
            await portal_store.ensure_indexes()
            registry = handlers.build_registry(planning)
            if settings.portal.enabled:
                # One group reads dossier.events once: a fact's notification records and
                # its portal messages are written with its one inbox record.
                portal = portal_sync.build_registry(portal_store, DisplayNames.from_catalogue())
                registry = combined(registry, portal)
            runtime.add_consumer(
                [DOSSIER_EVENTS, NOTIFICATION_EVENTS, APPLICANT_CONTACTS, OPERATIONS_EVENTS],
                registry,
                after_batch=wake.after_batch,
            )
            # Every instance runs a sender; the one holding the lease sends.
            portal_sender = PortalSender(
                portal_store,
                settings.portal,
                portal_http,
                runtime.clock,
                Lease(runtime.db, "portal-sender"),
            )
            app.state.runtime = runtime
            app.state.notification = api.NotificationApi(
                store, dispatcher, runtime.clock, box, egress_policy(settings)
            )
            app.state.portal = portal_store
            runtime.add_worker(watch)
            if settings.dispatch.enabled:
                # Its run outlasts the shared stop budget: see the stop below.
                runtime.add_worker(dispatcher, stop_s=settings.dispatch.stop_budget_s + 1)
            if settings.portal.enabled and settings.portal.endpoint:
                runtime.add_worker(portal_sender)
            if settings.portal.enabled:
                sending = bool(settings.portal.endpoint)
                runtime.add_worker(PortalBacklog(portal_store, SERVICE, sending))
            await runtime.start_workers()
            # On exit the runtime stops the consumers, then the dispatcher and the portal
            # sender, then the relay (which publishes what they stored).
            yield
            # The dispatcher's stop budget counts from here, not from after the consumers
            # (up to BACKGROUND_STOP_S in a store outage): its deliveries in flight end, and
            # what went out is stored, before the supervisor's SIGKILL. Records the
            # consumers write meanwhile stay pending, for the next sender (those of a batch
            # under way, written claimed for it, lapse or are taken back on restart).
            runtime.workers.stop_early(dispatcher)

    app = service_app(
        title="Notification service",
        description=DESCRIPTION,
        lifespan=lifespan,
        http=settings.http,
        auth=settings.auth,
        refusal_statuses=api.STATUS,
    )
    app.include_router(api.router)
    app.include_router(api_portal.router)
    app.include_router(api_privacy.router)
    return app


def main(argv: list[str] | None = None) -> None:
    service_arguments(SERVICE, argv)  # --help answers and starts nothing
    settings = read_settings(NotificationSettings, SERVICE)
    serve(create_app(settings), settings.http, settings, SERVICE)


if __name__ == "__main__":
    main()
