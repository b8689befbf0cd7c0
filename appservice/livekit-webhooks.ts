/**
 * POST /livekit/webhook: LiveKit's signed webhooks. The signature (a JWT in Authorization, whose
 * sha256 claim covers the raw body bytes) is checked before anything else: unsigned or wrongly
 * signed → 401. A webhook id already handled is acknowledged without handling it again (LiveKit
 * retries deliveries); the id is recorded after handling, so a crash mid-way means it is handled again.
 */
import express, { type Router } from 'express';
import { TokenVerifier, WebhookReceiver, type WebhookEvent } from 'livekit-server-sdk';

import type { CallStore } from './call-store.ts';
import type { Logger } from '../core/log.ts';

export interface WebhookDeps {
  apiKey: string;
  apiSecret: string;
  calls: Pick<CallStore, 'delivered' | 'markDelivered'>;
  handle(event: WebhookEvent): Promise<void>;
  log: Logger;
}

export function webhookRoutes(deps: WebhookDeps): Router {
  const router = express.Router();
  const receiver = new WebhookReceiver(deps.apiKey, deps.apiSecret);
  const verifier = new TokenVerifier(deps.apiKey, deps.apiSecret);
  const refuse = (res: express.Response): void => {
    res.status(401).json({ errcode: 'M_UNAUTHORIZED', error: 'Webhook signature missing or invalid' });
  };
  // The signature's JWT is checked before the body is read; its hash of the body after.
  const signed: express.RequestHandler = (req, res, next) => {
    const auth = req.get('authorization');
    if (auth === undefined || auth === '') {
      refuse(res);
      return;
    }
    verifier.verify(auth).then(
      () => {
        next();
      },
      () => {
        refuse(res);
      },
    );
  };
  const body = express.raw({ type: () => true, limit: '1mb', inflate: false });
  router.post('/livekit/webhook', signed, body, async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    let event: WebhookEvent;
    try {
      event = await receiver.receive(raw, req.get('authorization'));
    } catch {
      refuse(res);
      return;
    }
    try {
      if (event.id !== '' && (await deps.calls.delivered(event.id))) {
        res.json({});
        return;
      }
      await deps.handle(event);
      if (event.id !== '') await deps.calls.markDelivered(event.id);
      res.json({});
    } catch (err) {
      deps.log.error('webhook_failed', { event: event.event, error: (err as Error).message });
      res.status(500).json({ errcode: 'M_UNKNOWN', error: 'Webhook handling failed' });
    }
  });
  return router;
}
