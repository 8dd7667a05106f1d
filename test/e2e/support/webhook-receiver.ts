import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST the receiver got, with the raw body (the HMAC covers exactly these bytes). */
export interface Delivery {
  path: string;
  headers: http.IncomingHttpHeaders;
  rawBody: Buffer;
  json: unknown;
}

/** CONTRACT §3: `X-Mediaferry-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. */
export function verifySignature(delivery: Delivery, secret: string): boolean {
  const header = delivery.headers['x-mediaferry-signature'];
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', secret).update(delivery.rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A local HTTP endpoint that records webhook deliveries and answers 200 (or `status`). */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  readonly #server: http.Server;
  readonly #waiters = new Set<() => void>();
  #url = '';
  /** Status code to answer with (set e.g. 500 to exercise retries). */
  status = 200;

  private constructor() {
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(rawBody.toString('utf8'));
        } catch {
          json = undefined;
        }
        res.writeHead(this.status).end();
        if (req.method !== 'POST') return;
        this.deliveries.push({ path: req.url ?? '/', headers: req.headers, rawBody, json });
        for (const w of this.#waiters) w();
      });
    });
  }

  static async start(): Promise<WebhookReceiver> {
    const r = new WebhookReceiver();
    await new Promise<void>((resolve) => r.#server.listen(0, '127.0.0.1', resolve));
    r.#url = `http://127.0.0.1:${(r.#server.address() as AddressInfo).port}`;
    return r;
  }

  /** A callback URL on this receiver. */
  url(path = '/hooks'): string {
    return this.#url + path;
  }

  /** The first delivery (already received or arriving later) that matches. */
  async waitFor(match: (d: Delivery) => boolean, signal?: AbortSignal): Promise<Delivery> {
    for (;;) {
      const found = this.deliveries.find(match);
      if (found) return found;
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          this.#waiters.delete(wake);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          this.#waiters.delete(wake);
          reject(signal?.reason);
        };
        this.#waiters.add(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
