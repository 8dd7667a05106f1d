import { startRedisServer } from '@mediaferry/testkit';
import { describe, expect, it } from 'vitest';
import { closeRedis, createRedis, pingRedis, reconnectDelay, waitForRedisReady } from './redis-connection.js';

describe('createRedis', () => {
  it('keeps reconnect delays growing, capped and jittered', () => {
    const delays = Array.from({ length: 30 }, (_, i) => reconnectDelay(i + 1, 5000));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(80);
    expect(Math.max(...delays)).toBeLessThanOrEqual(6000);
    expect(delays[20]).toBeGreaterThanOrEqual(4000);
  });

  it('fails fast on the client role while Redis is down, logs instead of throwing, and recovers', async () => {
    const server = await startRedisServer();
    const warnings: object[] = [];
    let warned: () => void = () => {};
    const firstWarning = new Promise<void>((resolve) => {
      warned = resolve;
    });
    const logger = {
      debug() {},
      info() {},
      warn: (o: object) => {
        warnings.push(o);
        warned();
      },
      error() {},
    };
    const client = createRedis(server.url, { role: 'client', logger, maxReconnectDelayMs: 200 });
    const worker = createRedis(server.url, { role: 'worker', logger, maxReconnectDelayMs: 200 });
    const piped = createRedis(server.url, { role: 'client', maxReconnectDelayMs: 200, autoPipelining: true });
    try {
      await waitForRedisReady(piped);
      // Commands of one event-loop turn wait for one write; their replies keep their order.
      const incrs = Array.from({ length: 10 }, (_, i) => piped.incr(`n${i % 2}`));
      expect(piped.autoPipelineQueueSize).toBe(10);
      expect(await Promise.all(incrs)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
      await waitForRedisReady(client);
      await waitForRedisReady(worker);
      expect(await pingRedis(client)).toBe(true);
      await server.kill();
      const started = performance.now();
      await expect(client.get('x')).rejects.toThrow();
      await expect(piped.get('x')).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(3000);
      expect(await pingRedis(client, 200)).toBe(false);
      // The worker role waits for the reconnect instead of failing.
      const pending = worker.set('k', 'v');
      await firstWarning; // a refused reconnect is logged, not thrown
      await server.restart();
      await expect(pending).resolves.toBe('OK');
      await waitForRedisReady(client);
      expect(await client.get('k')).toBe('v');
      await waitForRedisReady(piped);
      expect(await piped.get('k')).toBe('v');
      expect(JSON.stringify(warnings)).toContain('ECONNREFUSED');
    } finally {
      await closeRedis(client);
      await closeRedis(worker);
      await closeRedis(piped);
      await server.stop();
    }
  });
});
