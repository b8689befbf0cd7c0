/**
 * Every Prometheus metric Causerie exposes, defined in one place (GET /metrics). Gauges about calls
 * are read from the database at scrape time, so every instance reports the same truth. The endpoint
 * may be turned off or require a bearer token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import express, { type Router } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import { unauthorized } from '../core/errors.ts';

/** What the call gauges read at scrape time (the call store answers it: it owns those tables). */
export interface CallCounts {
  counts(): Promise<{ calls: number; participants: number }>;
}

export function createMetrics(calls: CallCounts) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'causerie_' });

  const metrics = {
    registry,
    transactions: new Counter({
      name: 'causerie_appservice_transactions_total',
      help: 'Appservice transactions received from the homeserver, by outcome (processed, replayed, failed, refused).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    events: new Counter({
      name: 'causerie_appservice_events_total',
      help: 'Events received in appservice transactions, by event type.',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    tokenDecisions: new Counter({
      name: 'causerie_token_decisions_total',
      help: 'LiveKit token requests, by endpoint, outcome (granted, refused) and reason.',
      labelNames: ['endpoint', 'outcome', 'reason'] as const,
      registers: [registry],
    }),
    revocations: new Counter({
      name: 'causerie_revocations_total',
      help: 'LiveKit participants removed because their Matrix membership ended, by reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    revocationLatency: new Histogram({
      name: 'causerie_revocation_latency_seconds',
      help: 'Time from the membership event reaching the appservice to the participant being removed from LiveKit.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    eventsSkipped: new Counter({
      name: 'causerie_appservice_events_skipped_total',
      help: 'Events of appservice transactions skipped rather than applied (undecodable, or their effect failed), by reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    transactionsHeld: new Gauge({
      name: 'causerie_appservice_transactions_held',
      help: '1 while transactions are held back by a transient failure (the homeserver re-sends them), else 0.',
      registers: [registry],
    }),
    webhooks: new Counter({
      name: 'causerie_livekit_webhooks_total',
      help: 'LiveKit webhooks received, by event.',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
  };

  new Gauge({
    name: 'causerie_calls_active',
    help: 'Calls currently running.',
    registers: [registry],
    async collect() {
      this.set((await calls.counts()).calls);
    },
  });
  new Gauge({
    name: 'causerie_call_participants',
    help: 'Participants currently connected to running calls.',
    registers: [registry],
    async collect() {
      this.set((await calls.counts()).participants);
    },
  });
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

export interface MetricsAccess {
  /** When false, /metrics is not served (answers 404 like any unknown path). */
  enabled: boolean;
  /** When set, scrapers must send `Authorization: Bearer <token>`. */
  bearerToken?: string | undefined;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export function metricsRoutes(metrics: Metrics, access: MetricsAccess): Router {
  const router = express.Router();
  if (!access.enabled) return router;
  // Digests have one length, so comparing them in constant time does not reveal the token's length.
  const expected = access.bearerToken === undefined ? undefined : sha256(access.bearerToken);
  router.get('/metrics', async (req, res) => {
    if (expected !== undefined) {
      const presented = /^Bearer +(\S+) *$/i.exec(req.get('authorization') ?? '')?.[1];
      if (presented === undefined || !timingSafeEqual(sha256(presented), expected)) {
        res.setHeader('www-authenticate', 'Bearer');
        throw unauthorized('A valid bearer token is required', 'metrics_unauthorized');
      }
    }
    res.setHeader('content-type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  return router;
}
