/**
 * POST /livekit/webhook: LiveKit's signed webhooks. The signature (a JWT in Authorization, whose
 * sha256 claim covers the raw body bytes) is checked before anything else: unsigned or wrongly
 * signed → 401. A webhook id already handled is acknowledged without handling it again (LiveKit
 * retries deliveries); the id is recorded after handling, so a crash mid-way means it is handled again.
 * Webhooks of `causerie doctor`'s probe rooms are only noted, and GET /_causerie/doctor/webhook/<room>
 * says whether one came (for those names only: it tells nothing about calls).
 */
import express, { type Router } from 'express';
import { TokenVerifier, WebhookReceiver, type WebhookEvent } from 'livekit-server-sdk';

import type { CallStore } from './call-store.ts';
import { ApiError, unauthorized } from '../core/errors.ts';
import { DOCTOR_ROOM_PREFIX } from '../core/livekit-names.ts';
import type { Logger } from '../core/log.ts';

export interface WebhookDeps {
  apiKey: string;
  apiSecret: string;
  calls: Pick<CallStore, 'delivered' | 'markDelivered'>;
  handle(event: WebhookEvent): Promise<void>;
  log: Logger;
}

/** Probe rooms whose webhook came: a few, briefly. */
const PROBES_KEPT = 64;

export function webhookRoutes(deps: WebhookDeps): Router {
  const router = express.Router();
  const probes = new Set<string>();
  router.get('/_causerie/doctor/webhook/:room', (req, res) => {
    const room = req.params.room;
    if (!room.startsWith(DOCTOR_ROOM_PREFIX) || room.length > 64) {
      res.status(404).json({ errcode: 'M_NOT_FOUND', error: 'Not a doctor probe room' });
      return;
    }
    res.json({ seen: probes.has(room) });
  });
  const receiver = new WebhookReceiver(deps.apiKey, deps.apiSecret);
  const verifier = new TokenVerifier(deps.apiKey, deps.apiSecret);
  const refused = (): ApiError => unauthorized('Webhook signature missing or invalid', 'bad_signature');
  // The signature's JWT is checked before the body is read; its hash of the body after.
  const signed: express.RequestHandler = async (req, _res, next) => {
    const auth = req.get('authorization');
    if (auth === undefined || auth === '') throw refused();
    await verifier.verify(auth).catch(() => {
      throw refused();
    });
    next();
  };
  const body = express.raw({ type: () => true, limit: '1mb', inflate: false });
  router.post('/livekit/webhook', signed, body, async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const event = await receiver.receive(raw, req.get('authorization')).catch(() => {
      throw refused();
    });
    const probe = event.room?.name;
    if (probe?.startsWith(DOCTOR_ROOM_PREFIX) === true) {
      probes.add(probe);
      if (probes.size > PROBES_KEPT) probes.delete(probes.values().next().value ?? '');
      res.json({});
      return;
    }
    if (event.id !== '' && (await deps.calls.delivered(event.id))) {
      res.json({});
      return;
    }
    try {
      await deps.handle(event);
    } catch (err) {
      // Not recorded as delivered: LiveKit's retry is handled again.
      deps.log.error('webhook_failed', { event: event.event, error: (err as Error).message });
      throw new ApiError('internal', 'Webhook handling failed', { reason: 'webhook_failed' });
    }
    if (event.id !== '') await deps.calls.markDelivered(event.id);
    res.json({});
  });
  return router;
}
