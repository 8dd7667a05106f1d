import { beforeEach, describe, expect, it } from 'vitest';
import { JobStore } from './job-store.js';
import { createJobScript } from './job-store.scripts.js';
import type { RedisClient } from './redis-connection.js';
import { makeSpec, useRedis } from './test-support/fixtures.js';

const redisFixture = useRedis();

const result = {
  mediaId: 'm1',
  mediaType: 'video' as const,
  bucket: 'b',
  objectKey: 'k',
  size: 10,
  crc64: '1',
  url: null,
};

describe('JobStore', () => {
  let redis: RedisClient;
  let store: JobStore;

  beforeEach(async () => {
    redis ??= await redisFixture.connect();
    store = new JobStore(redis, { prefix: redisFixture.prefix(), finishedTtlSeconds: 3600 });
  });

  it('creates a queued record and reads it back', async () => {
    const spec = makeSpec({ idempotencyKey: 'read-back' });
    const created = await store.create({ service: 'svc-a', spec });
    expect(created.outcome).toBe('created');
    const record = await store.get(created.record.id);
    expect(record).toMatchObject({ id: created.record.id, service: 'svc-a', status: 'queued', attempts: 0 });
    expect(record?.spec).toEqual(spec);
    expect(await store.getOwned(created.record.id, 'svc-b')).toBeNull();
    expect(await store.getOwned(created.record.id, 'svc-a')).not.toBeNull();
  });

  it('keeps source request headers out of the record, for the worker only, until the job succeeds', async () => {
    const headers = { Authorization: 'Bearer s3cret' };
    const source = { type: 'url' as const, url: 'https://example.com/a.mp4' };
    const spec = makeSpec({ source: { ...source, headers }, idempotencyKey: 'with-headers' });
    const created = await store.create({ service: 'svc-a', spec });
    const { id } = created.record;
    expect(created.record.spec.source).toEqual(source);
    expect(JSON.stringify(await redis.hgetall(store.keys.job(id)))).not.toContain('s3cret');
    const record = await store.get(id);
    expect(record?.spec.source).toEqual(source);
    expect(await store.sourceForRun(record as NonNullable<typeof record>)).toEqual({ ...source, headers });
    // Other headers make another job; the same ones the same job.
    const other = makeSpec({
      source: { ...source, headers: { Authorization: 'x' } },
      idempotencyKey: 'with-headers',
    });
    expect((await store.create({ service: 'svc-a', spec: other })).outcome).toBe('conflict');
    expect((await store.create({ service: 'svc-a', spec })).outcome).toBe('existing');

    // Failed (or canceled): kept for a retry, with the record's TTL; a retry keeps it for good again.
    await store.start(id, 1);
    await store.fail(id, { code: 'X', message: 'x', retryable: false }, { final: true });
    expect(await redis.ttl(store.keys.jobSecret(id))).toBeGreaterThan(3000);
    await store.retry(id);
    expect(await redis.ttl(store.keys.jobSecret(id))).toBe(-1);
    // Succeeded: gone, as nothing will run it again.
    await store.start(id, 1);
    expect((await store.succeed(id, result)).ok).toBe(true);
    expect(await redis.exists(store.keys.jobSecret(id))).toBe(0);
    expect(await store.sourceForRun((await store.get(id)) as NonNullable<typeof record>)).toEqual(source);
  });

  it('recovers when Redis forgot its scripts (restart, SCRIPT FLUSH)', async () => {
    await store.create({ service: 'svc-a', spec: makeSpec() });
    await redis.script('FLUSH');
    const created = await store.createMany([
      { service: 'svc-a', spec: makeSpec() },
      { service: 'svc-b', spec: makeSpec() },
    ]);
    expect(created.map((c) => c.outcome)).toEqual(['created', 'created']);
    await redis.script('FLUSH');
    expect((await store.start(created[0]?.record.id as string, 1)).ok).toBe(true);
    expect((await store.create({ service: 'svc-a', spec: makeSpec() })).outcome).toBe('created');
    const [loaded] = (await redis.script('EXISTS', createJobScript.sha)) as number[];
    expect(loaded).toBe(1); // EVAL cached it again: the next creates use EVALSHA
  });

  it('turns 20 concurrent creates with one idempotency key into one job', async () => {
    const spec = makeSpec({ idempotencyKey: 'k-1' });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.create({ service: 'svc-a', spec })),
    );
    const ids = new Set(results.map((r) => r.record.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'existing')).toHaveLength(19);
    const page = await store.list('svc-a');
    expect(page.records.map((r) => r.id)).toEqual([...ids]);
  });

  it('scopes idempotency keys per service and flags a different spec as a conflict', async () => {
    const a = await store.create({ service: 'svc-a', spec: makeSpec({ idempotencyKey: 'same' }) });
    const b = await store.create({ service: 'svc-b', spec: makeSpec({ idempotencyKey: 'same' }) });
    expect(b.outcome).toBe('created');
    expect(b.record.id).not.toBe(a.record.id);
    const other = await store.create({
      service: 'svc-a',
      spec: makeSpec({ idempotencyKey: 'same', media: { type: 'video', title: 'B' } }),
    });
    expect(other.outcome).toBe('conflict');
    expect(other.record.id).toBe(a.record.id);
    // Key order and defaults do not make a spec different.
    const again = await store.create({
      service: 'svc-a',
      spec: makeSpec({ media: { title: 'A', type: 'video' }, idempotencyKey: 'same', priority: 0 }),
    });
    expect(again.outcome).toBe('existing');
  });

  it('runs the happy path: start, progress, succeed, with one completion only', async () => {
    const { record } = await store.create({ service: 'svc-a', spec: makeSpec() });
    const started = await store.start(record.id, 1);
    expect(started.ok).toBe(true);
    expect(started.record).toMatchObject({ status: 'running', attempts: 1 });
    expect(started.record?.startedAt).toEqual(expect.any(Number));
    const progress = {
      uploadedBytes: 5,
      totalBytes: 10,
      percent: 50,
      partsDone: 1,
      partsTotal: 2,
      bytesPerSecond: 5,
    };
    expect((await store.progress(record.id, progress)).ok).toBe(true);
    const finishes = await Promise.all(Array.from({ length: 10 }, () => store.succeed(record.id, result)));
    expect(finishes.filter((f) => f.ok)).toHaveLength(1);
    const done = await store.get(record.id);
    expect(done).toMatchObject({ status: 'succeeded', result, progress });
    expect(done?.finishedAt).toEqual(expect.any(Number));
    // Progress after the end is refused.
    expect((await store.progress(record.id, progress)).ok).toBe(false);
    expect(await redis.ttl(store.keys.job(record.id))).toBeGreaterThan(3000);
  });

  it('never lets a late worker turn a canceled job into a succeeded or failed one', async () => {
    const { record } = await store.create({ service: 'svc-a', spec: makeSpec({ idempotencyKey: 'c1' }) });
    await store.start(record.id, 1);
    const canceled = await store.cancel(record.id);
    expect(canceled).toMatchObject({ ok: true, record: { status: 'canceled' } });
    const late = await store.succeed(record.id, result);
    expect(late).toMatchObject({ ok: false, record: { status: 'canceled' } });
    expect(
      (await store.fail(record.id, { code: 'X', message: 'x', retryable: false }, { final: true })).ok,
    ).toBe(false);
    expect((await store.start(record.id, 2)).ok).toBe(false);
    expect((await store.cancel(record.id)).ok).toBe(false);
    // Both the record and its idempotency key now expire.
    expect(await redis.ttl(store.keys.job(record.id))).toBeGreaterThan(0);
    expect(await redis.ttl(store.keys.idempotency('svc-a', 'c1'))).toBeGreaterThan(0);
  });

  it('keeps a retryable error while queued, fails for good, and retries with cumulative attempts', async () => {
    const { record } = await store.create({ service: 'svc-a', spec: makeSpec() });
    await store.start(record.id, 1);
    const retryable = { code: 'NETWORK_ERROR', message: 'reset', retryable: true };
    expect(await store.fail(record.id, retryable, { final: false })).toMatchObject({
      ok: true,
      record: { status: 'queued', error: retryable, finishedAt: null },
    });
    await store.start(record.id, 2);
    const fatal = { code: 'SOURCE_NOT_FOUND', message: 'gone', retryable: false };
    const failed = await store.fail(record.id, fatal, { final: true });
    expect(failed).toMatchObject({ ok: true, record: { status: 'failed', error: fatal, attempts: 2 } });
    expect(await redis.ttl(store.keys.job(record.id))).toBeGreaterThan(0);

    const retried = await store.retry(record.id);
    expect(retried).toMatchObject({ ok: true, record: { status: 'queued', error: null, finishedAt: null } });
    expect(await redis.ttl(store.keys.job(record.id))).toBe(-1);
    const restarted = await store.start(record.id, 1);
    expect(restarted.record?.attempts).toBe(3);
    expect((await store.retry(record.id)).ok).toBe(false);
  });

  it('hands a running job back to queued without touching its attempts', async () => {
    const { record } = await store.create({ service: 'svc-a', spec: makeSpec() });
    await store.start(record.id, 1);
    expect(await store.release(record.id)).toMatchObject({
      ok: true,
      record: { status: 'queued', attempts: 1 },
    });
    expect((await store.release(record.id)).ok).toBe(false);
  });

  it('ignores the writes of a run that lost the job to another worker, except a verified completion', async () => {
    const { record } = await store.create({ service: 'svc-a', spec: makeSpec() });
    // Worker A starts; its lock expires while it is frozen; worker B takes the job over.
    await store.start(record.id, 1, 'worker-a:1');
    await store.start(record.id, 1, 'worker-b:7');
    const progress = {
      uploadedBytes: 1,
      totalBytes: 10,
      percent: 10,
      partsDone: 0,
      partsTotal: 2,
      bytesPerSecond: 1,
    };
    const error = { code: 'NO_SUCH_UPLOAD', message: 'gone', retryable: true };
    // A wakes up: its progress, its failure (retryable or not) and its hand-back change nothing.
    expect((await store.progress(record.id, progress, 'worker-a:1')).ok).toBe(false);
    expect((await store.fail(record.id, error, { final: false, runner: 'worker-a:1' })).ok).toBe(false);
    expect((await store.fail(record.id, error, { final: true, runner: 'worker-a:1' })).ok).toBe(false);
    expect((await store.release(record.id, 'worker-a:1')).ok).toBe(false);
    expect(await store.get(record.id)).toMatchObject({ status: 'running', error: null });
    // B's writes go through.
    expect((await store.progress(record.id, progress, 'worker-b:7')).ok).toBe(true);
    expect((await store.release(record.id, 'worker-b:7')).ok).toBe(true);
    await store.start(record.id, 1, 'worker-b:8');
    // A completion is true whichever run made it (the object was verified), and there is one only.
    expect((await store.succeed(record.id, result)).ok).toBe(true);
    expect((await store.succeed(record.id, result)).ok).toBe(false);
  });

  it('answers missing records with record null', async () => {
    expect(await store.cancel('job_00000000000000000000000000')).toEqual({ ok: false, record: null });
    expect(await store.get('job_00000000000000000000000000')).toBeNull();
  });

  it('lists newest first with a cursor and a status filter, skipping expired records', async () => {
    const created = await store.createMany(
      Array.from({ length: 25 }, () => ({ service: 'svc-list', spec: makeSpec() })),
    );
    await store.create({ service: 'svc-other', spec: makeSpec() });
    const ids = created
      .map((c) => c.record.id)
      .sort()
      .reverse();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await store.list('svc-list', { limit: 10, cursor });
      seen.push(...page.records.map((r) => r.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);

    const [first, second, third] = ids as [string, string, string];
    await store.cancel(first);
    await store.cancel(second);
    await store.cancel(third);
    await redis.del(store.keys.job(second)); // as if its TTL had run out
    const canceled = await store.list('svc-list', { status: 'canceled', limit: 1 });
    expect(canceled.records.map((r) => r.id)).toEqual([first]);
    const rest = await store.list('svc-list', { status: 'canceled', limit: 5, cursor: canceled.nextCursor });
    expect(rest).toEqual({ records: [expect.objectContaining({ id: third })], nextCursor: null });
    expect(
      await redis.zscore(store.keys.index(store.keys.jobBase(second), 'svc-list', 'canceled'), second),
    ).toBeNull();
    expect((await store.list('svc-list', { status: 'queued', limit: 100 })).records).toHaveLength(22);
  });
});
