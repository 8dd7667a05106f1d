import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WEBHOOK_RETRY, webhookRetryDelay, webhookRetryWindowMs } from './webhook-retry.js';
import { isFreshTimestamp, signWebhook, verifyWebhookSignature } from './webhook-signature.js';

describe('webhook signatures', () => {
  const body = '{"event":"job.succeeded","job":{"id":"job_1"}}';

  it('is sha256=<hex HMAC-SHA256 of the raw body>', () => {
    const hex = createHmac('sha256', 's3cret').update(body).digest('hex');
    expect(signWebhook(body, 's3cret')).toBe(`sha256=${hex}`);
    expect(signWebhook(Buffer.from(body), 's3cret')).toBe(`sha256=${hex}`);
  });

  it('verifies only the exact bytes under the right secret', () => {
    const header = signWebhook(body, 's3cret');
    expect(verifyWebhookSignature(body, header, 's3cret')).toBe(true);
    expect(
      verifyWebhookSignature(Buffer.from(body), header.toUpperCase().replace('SHA256=', 'sha256='), 's3cret'),
    ).toBe(true);
    expect(verifyWebhookSignature(body.replace('job_1', 'job_2'), header, 's3cret')).toBe(false);
    expect(verifyWebhookSignature(JSON.stringify(JSON.parse(body), null, 1), header, 's3cret')).toBe(false);
    expect(verifyWebhookSignature(body, header, 'other')).toBe(false);
    for (const bad of [undefined, null, '', 'sha256=', 'sha1=abcd', `${header}00`, header.slice(7)]) {
      expect(verifyWebhookSignature(body, bad, 's3cret')).toBe(false);
    }
  });

  it('judges timestamp freshness', () => {
    const now = 1_700_000_000_000;
    expect(isFreshTimestamp('1700000000', 300, now)).toBe(true);
    expect(isFreshTimestamp('1699999000', 300, now)).toBe(false);
    expect(isFreshTimestamp('soon', 300, now)).toBe(false);
  });
});

describe('webhook retry policy', () => {
  it('keeps trying for at least an hour with the defaults', () => {
    const { minMs, maxMs } = webhookRetryWindowMs(DEFAULT_WEBHOOK_RETRY);
    expect(maxMs).toBe(5_430_000);
    expect(minMs).toBeGreaterThanOrEqual(3_600_000);
  });

  it('doubles from the base, caps, jitters downwards only, and honours Retry-After', () => {
    const r = DEFAULT_WEBHOOK_RETRY;
    expect(webhookRetryDelay(1, r, undefined, () => 1)).toBe(10_000);
    expect(webhookRetryDelay(3, r, undefined, () => 1)).toBe(40_000);
    expect(webhookRetryDelay(3, r, undefined, () => 0)).toBe(30_000);
    expect(webhookRetryDelay(12, r, undefined, () => 1)).toBe(600_000);
    expect(webhookRetryDelay(1, r, 120_000, () => 1)).toBe(120_000);
    expect(webhookRetryDelay(1, r, 3_600_000, () => 1)).toBe(600_000);
  });
});
