/**
 * Starts the Causerie service from a validated config: database (with migrations), the appservice's
 * room view and transaction endpoint, the token service, the HTTP server. Returns a handle that
 * stops everything it started.
 */

import { RoomServiceClient } from 'livekit-server-sdk';

import { HomeserverClient } from '../appservice/homeserver-client.ts';
import { CallLifecycle } from '../appservice/call-lifecycle.ts';
import { CallStore } from '../appservice/call-store.ts';
import { DelayedLeaves } from '../appservice/delayed-leaves.ts';
import { EventHandler } from '../appservice/event-handler.ts';
import { Revoker } from '../appservice/revocation.ts';
import { RoomStates } from '../appservice/room-cache.ts';
import { RoomStore } from '../appservice/room-store.ts';
import { transactionRoutes } from '../appservice/transactions.ts';
import { readRegistration } from '../config/registration.ts';
import type { Config } from '../config/schema.ts';
import { openDatabase } from '../schema/database.ts';
import { migrate } from '../schema/migrate.ts';
import { AuditLog } from '../schema/audit-log.ts';
import { ClientApi } from '../federation/client-api.ts';
import { createFederation } from '../federation/federation.ts';
import { closeServer, createHttpApp, createHttpServer, listen } from '../server/http.ts';
import { LivekitIdentities } from '../livekit/identities.ts';
import { LivekitRooms } from '../livekit/rooms.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { isServerNameListed } from '../core/matrix-ids.ts';
import { createMetrics, metricsRoutes } from '../server/metrics.ts';
import { RateLimiter } from '../server/rate-limit.ts';
import type { DnsResolver } from '../federation/server-discovery.ts';
import { Moderation, moderationRoutes } from '../server/moderation.ts';
import { PublishLocks } from '../server/publish-locks.ts';
import { tokenRoutes } from '../server/token-api.ts';
import { GuestAccounts } from '../appservice/guest-accounts.ts';
import { GuestLinkSigner, isGuestUser, TokenSealer } from '../core/guest-links.ts';
import { guestGatewayRoutes } from '../server/guest-gateway.ts';
import { GuestLinks, guestLinkRoutes } from '../server/guest-links.ts';
import { staticRoutes } from '../server/static-api.ts';
import { TokenService } from '../server/token-service.ts';
import { webhookRoutes } from '../appservice/livekit-webhooks.ts';

export interface RunningService {
  url: string;
  rooms: RoomStates;
  stop(): Promise<void>;
}

export interface ServiceOverrides {
  log?: Logger;
  /** DNS for server discovery (tests inject answers). */
  dns?: DnsResolver;
}

export const livekitHttpUrl = (wsUrl: string): string => wsUrl.replace(/^ws/, 'http');

export async function startService(config: Config, overrides: ServiceOverrides = {}): Promise<RunningService> {
  const log = overrides.log ?? createLogger('service');
  const registration = readRegistration(config.appservice.registration);
  const db = await openDatabase({
    url: config.database.url,
    dataDir: config.database.data_dir,
    onError: (err) => {
      log.warn('database_connection_lost', { error: err.message });
    },
  });
  const applied = await migrate(db);
  log.info('database_ready', { kind: db.kind, migrations_applied: applied.length });

  const botUserId = `@${registration.sender_localpart}:${config.homeserver.domain}`;
  const recovered = { rooms: undefined as RoomStates | undefined };
  const homeserver = new HomeserverClient({
    url: config.homeserver.url,
    asToken: registration.as_token,
    // Back after an outage: events may have been missed; every room is re-read on its next use.
    onRecovered: () => {
      log.info('homeserver_recovered');
      recovered.rooms?.expireAll();
    },
  });
  const rooms = new RoomStates({ homeserver, botUserId, store: new RoomStore(db) });
  recovered.rooms = rooms;
  log.info('rooms_loaded', { rooms: await rooms.loadFromStore() });

  const {
    http: federation,
    discovery,
    verifier,
  } = createFederation({
    timeoutMs: config.federation.timeout_ms,
    caFile: config.federation.ca_file,
    dnsServers: config.federation.dns_servers,
    dnsTimeoutMs: config.federation.dns_timeout_ms,
    privateAddressServers: config.federation.private_address_servers,
    discoveryCacheMs: config.federation.discovery_cache_seconds * 1000,
    dns: overrides.dns,
  });
  const roomService = new RoomServiceClient(
    livekitHttpUrl(config.livekit.url),
    config.livekit.api_key,
    config.livekit.api_secret,
    {
      requestTimeout: 10,
    },
  );
  const livekitRooms = new LivekitRooms(roomService);
  const audit = new AuditLog(db, log);
  const metrics = createMetrics(new CallStore(db));
  const isGuest = (userId: string): boolean =>
    isGuestUser(userId, config.appservice.user_prefix, config.homeserver.domain);
  const policy = {
    localServer: config.homeserver.domain,
    fullAccessServers: config.token.full_access_servers ?? [config.homeserver.domain],
    remoteUsers: config.token.remote_users,
    isGuest,
  };
  const identities = new LivekitIdentities(db);
  const revoker = new Revoker({
    livekit: roomService,
    identities,
    rooms,
    audit,
    log,
    policy,
    onRemoved: (ms, reason) => {
      metrics.revocations.inc({ reason });
      metrics.revocationLatency.observe(ms / 1000);
    },
  });
  const delayedLeaves = new DelayedLeaves({
    db,
    audit,
    log,
    livekit: roomService,
    clientApi: new ClientApi({
      localServer: config.homeserver.domain,
      localUrl: config.homeserver.url,
      plainHttpServers: config.federation.private_address_servers,
      discovery,
      http: federation,
      timeoutMs: config.federation.timeout_ms,
    }),
  });
  const callStore = new CallStore(db);
  const calls = new CallLifecycle({
    botUserId,
    homeserver,
    rooms,
    calls: callStore,
    livekitRooms,
    livekit: roomService,
    identities,
    revoker,
    fullAccessServers: policy.fullAccessServers,
    serverListed: isServerNameListed,
    audit,
    log,
    publicUrl: config.appservice.public_url ?? config.appservice.url,
    moderatorPowerLevel: config.token.moderator_power_level,
    staleGraceMs: config.appservice.stale_membership_grace_seconds * 1000,
    remoteEndGraceMs: config.appservice.remote_call_end_grace_seconds * 1000,
    delayedLeaves,
  });
  const events = new EventHandler({
    botUserId,
    localServer: config.homeserver.domain,
    rooms,
    homeserver,
    revoker,
    calls,
    log,
    invites: {
      inviteServers: config.appservice.invite_servers ?? [config.homeserver.domain],
      maxRooms: config.appservice.max_rooms,
    },
    serverListed: isServerNameListed,
  });
  // Sources a moderator keeps off for someone (moderation writes them, token issuance reads them).
  const publishLocks = new PublishLocks(db, roomService);
  log.info('publish_locks_loaded', { locks: await publishLocks.load() });
  const tokens = new TokenService(
    {
      verifier,
      locks: publishLocks,
      rooms,
      identities,
      databaseAvailable: () => db.available(),
      livekitRooms,
      audit,
      delayedLeaves,
      log,
      onDecision: (endpoint, outcome, reason) => {
        metrics.tokenDecisions.inc({ endpoint, outcome, reason });
      },
    },
    {
      livekitUrl: config.livekit.url,
      apiKey: config.livekit.api_key,
      apiSecret: config.livekit.api_secret,
      ttlSeconds: config.token.ttl_seconds,
      allowServers: config.federation.allow_servers,
      denyServers: config.federation.deny_servers,
      policy,
    },
  );
  const limiter = new RateLimiter({ perSecond: config.rate_limit.per_second, burst: config.rate_limit.burst });
  // Moderation in calls: muting takes the moderator level (as `!call end`), removal the room's kick level.
  const moderation = new Moderation(
    {
      verifier,
      rooms,
      identities,
      livekit: roomService,
      audit,
      log,
      endCall: (roomId, by) => calls.endCall(roomId, by),
      homeserver,
      locks: publishLocks,
    },
    { mutePowerLevel: config.token.moderator_power_level, isGuest },
  );
  // Guest links: accounts in our namespace for people with no Matrix account, one room each.
  const guestAccounts = new GuestAccounts({
    db,
    homeserver,
    livekit: roomService,
    identities,
    sealer: new TokenSealer(registration.as_token),
    audit,
    log,
    prefix: config.appservice.user_prefix,
    domain: config.homeserver.domain,
  });
  const guestLinks = new GuestLinks(
    {
      verifier,
      rooms,
      homeserver,
      db,
      signer: new GuestLinkSigner(registration.as_token),
      accounts: guestAccounts,
      audit,
      log,
    },
    {
      defaultExpirySeconds: config.guests.default_expiry_seconds,
      maxExpirySeconds: config.guests.max_expiry_seconds,
      maxGuestsPerLink: config.guests.max_guests_per_link,
      publicUrl: config.appservice.public_url ?? config.appservice.url,
      prefix: config.appservice.user_prefix,
      domain: config.homeserver.domain,
      botUserId,
    },
  );
  const redeemLimiter = new RateLimiter({
    perSecond: config.guests.redeem_per_minute / 60,
    burst: Math.max(1, Math.ceil(config.guests.redeem_per_minute / 6)),
  });

  const app = createHttpApp({
    db,
    log,
    trustProxy: config.listen.trust_proxy,
    readiness: {
      homeserver: async () =>
        (
          await fetch(`${config.homeserver.url.replace(/\/+$/, '')}/_matrix/client/versions`, {
            signal: AbortSignal.timeout(2_000),
          })
        ).ok,
      livekit: async () =>
        (await fetch(`${livekitHttpUrl(config.livekit.url)}/`, { signal: AbortSignal.timeout(2_000) })).ok,
    },
    routers: [
      staticRoutes({
        devHost: config.widget.dev_host,
        publicUrl: config.appservice.public_url ?? config.appservice.url,
      }),
      metricsRoutes(metrics, { enabled: config.metrics.enabled, bearerToken: config.metrics.bearer_token }),
      tokenRoutes(tokens, limiter),
      moderationRoutes(moderation, limiter),
      ...(config.guests.enabled
        ? [
            guestLinkRoutes(guestLinks, limiter, redeemLimiter),
            guestGatewayRoutes({ homeserverUrl: config.homeserver.url, sessions: guestAccounts, log }, limiter),
          ]
        : []),
      transactionRoutes({
        hsToken: registration.hs_token,
        db,
        events,
        store: (pending) => rooms.flush(pending),
        log,
        count: (outcome, types) => {
          metrics.transactions.inc({ outcome });
          for (const type of types) metrics.events.inc({ type });
        },
        skipped: (reason) => {
          metrics.eventsSkipped.inc({ reason });
        },
        onHeld: (reason) => {
          // A held transaction may hold a ban: grants confirm with the homeserver meanwhile.
          rooms.setStale(reason);
          metrics.transactionsHeld.set(reason === undefined ? 0 : 1);
        },
        recovered: async () => {
          await db.query('SELECT 1');
          return true;
        },
        retryNow: () => homeserver.pingAppservice(registration.id),
      }),
      webhookRoutes({
        apiKey: config.livekit.api_key,
        apiSecret: config.livekit.api_secret,
        calls: callStore,
        handle: (event) => {
          metrics.webhooks.inc({ event: event.event });
          return calls.onWebhook(event);
        },
        log,
      }),
    ],
  });
  const server = createHttpServer(app);
  const { port } = await listen(server, config.listen.port, config.listen.host);
  const url = `http://${config.listen.host}:${port}`;
  log.info('listening', { url });
  const reconcileMs = config.appservice.reconcile_interval_seconds * 1000;
  revoker.start(reconcileMs);
  calls.startChecks(reconcileMs);
  // Catch up with rooms joined while we were away (or all of them, on an empty database).
  let stopped = false;
  void catchUp(homeserver, rooms, log, () => stopped);
  guestAccounts.resume().catch((err: unknown) => {
    log.warn('guests_resume_failed', { error: (err as Error).message });
  });
  delayedLeaves.resume().catch((err: unknown) => {
    log.warn('delayed_leaves_resume_failed', { error: (err as Error).message });
  });

  return {
    url,
    rooms,
    async stop() {
      stopped = true;
      revoker.stop();
      calls.stop();
      delayedLeaves.stop();
      guestAccounts.stop();
      await closeServer(server);
      await audit.flush();
      await federation.close();
      await db.close();
    },
  };
}

/**
 * Reads the rooms the bot is joined to that the database does not have. Retries with backoff while
 * the homeserver is not answering (it may start after us), until done or stopped.
 */
async function catchUp(
  homeserver: HomeserverClient,
  rooms: RoomStates,
  log: Logger,
  stopped: () => boolean,
): Promise<void> {
  for (let delay = 1_000; !stopped(); delay = Math.min(delay * 2, 60_000)) {
    try {
      const { joined_rooms: joined } = await homeserver.request<{ joined_rooms: string[] }>(
        'GET',
        '/_matrix/client/v3/joined_rooms',
      );
      const missing = joined.filter((id) => rooms.peek(id) === undefined);
      // A few at a time: a bot in thousands of rooms must not flood its homeserver at start.
      for (let i = 0; i < missing.length; i += 4) {
        await Promise.all(missing.slice(i, i + 4).map((id) => rooms.refresh(id).catch(() => undefined)));
      }
      log.info('rooms_caught_up', { joined: joined.length, read: missing.length });
      return;
    } catch (err) {
      log.warn('rooms_catch_up_retry', { error: (err as Error).message, retry_in_ms: delay });
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
    }
  }
}
