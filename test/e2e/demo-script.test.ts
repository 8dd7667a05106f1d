import { type RedisServer, startRedisServer } from '@mediaferry/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, LogBook } from './support/app-process.js';

describe("the README's run command", () => {
  let redis: RedisServer;
  let demo: AppProcess | undefined;
  const logs = new LogBook();

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await demo?.stop();
    await redis?.stop();
  });

  it('`node scripts/demo.ts --exit` uploads the samples and a client upload, prints their media ids and exits 0', async () => {
    // A private Redis; the demo picks free ports for everything else.
    demo = new AppProcess(
      'demo',
      ['scripts/demo.ts', '--exit'],
      { REDIS_URL: redis.url, LOG_LEVEL: 'warn' },
      logs,
    );
    const timer = setTimeout(() => demo?.signal('SIGTERM'), 170_000);
    const exit = await demo.exited.finally(() => clearTimeout(timer));
    const output = logs.lines.map((l) => `${l.stream === 'stderr' ? '!' : ' '} ${l.text}`).join('\n');
    expect(exit, output).toEqual({ code: 0, signal: null });
    const succeeded = logs.lines.filter((l) => /succeeded: mediaId=\S+/.test(l.text));
    expect(succeeded, output).toHaveLength(2);
    for (const l of succeeded) expect(l.text).not.toMatch(/mediaId=(undefined|null)\b/);
    // …and one client upload, sent by the CLI as a real client, completed by VOD's event.
    expect(
      logs.lines.filter((l) => /client upload cu_\S+ completed: mediaId=\w+ size=3145728/.test(l.text)),
      output,
    ).toHaveLength(1);
  });
});
