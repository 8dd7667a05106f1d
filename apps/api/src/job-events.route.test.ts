import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type JobEvent, JobEventBus, type Unsubscribe } from '@mediaferry/queue';
import { describe, expect, it } from 'vitest';
import { auth, fileJob, useApi, view } from './test-support/api-fixture.js';

/**
 * The real bus, counting the job subscriptions it holds, and able to hold the next subscriber right
 * after its SUBSCRIBE (as a slow Redis would) so a test can hang up in that window.
 */
class ObservedEventBus extends JobEventBus {
  live = 0;
  hold: { reached: () => void; gate: Promise<void> } | undefined;
  #changed: (() => void)[] = [];

  override async subscribeJob(id: string, listener: (event: JobEvent) => void): Promise<Unsubscribe> {
    const off = await super.subscribeJob(id, listener);
    this.#change(+1);
    const hold = this.hold;
    this.hold = undefined;
    if (hold) {
      hold.reached();
      await hold.gate;
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await off();
      this.#change(-1);
    };
  }

  async until(predicate: () => boolean): Promise<void> {
    while (!predicate()) await new Promise<void>((r) => this.#changed.push(r));
  }

  #change(delta: number): void {
    this.live += delta;
    for (const wake of this.#changed.splice(0)) wake();
  }
}

let bus: ObservedEventBus | undefined;
const api = useApi(
  { sseHeartbeatMs: 50 },
  {
    makeEvents: (subscriber, keys) => {
      bus = new ObservedEventBus(subscriber, keys);
      return bus;
    },
  },
);

interface SseEvent {
  event: string;
  data: unknown;
}

/** Opens the event stream over real HTTP and parses events as they arrive. */
async function openStream(port: number, id: string, who: 'a' | 'b' = 'a') {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(
      { port, host: '127.0.0.1', path: `/v1/jobs/${id}/events`, headers: auth(who) },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
  const events: SseEvent[] = [];
  let comments = 0;
  let buffer = '';
  const waiters: (() => void)[] = [];
  const ended = new Promise<void>((resolve) => res.on('end', resolve));
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let i = buffer.indexOf('\n\n');
    while (i >= 0) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      if (block.startsWith(':')) comments += 1;
      else {
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null');
        events.push({ event, data });
      }
      for (const w of waiters.splice(0)) w();
      i = buffer.indexOf('\n\n');
    }
  });
  const until = async (predicate: () => boolean) => {
    while (!predicate()) await new Promise<void>((r) => waiters.push(r));
  };
  return { res, events, until, ended, comments: () => comments };
}

describe('GET /v1/jobs/:id/events', () => {
  it('streams status and progress events until the job ends, with heartbeats', async () => {
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = api.app.server.address() as AddressInfo;
    const job = view(await api.createJob(fileJob(api)));

    const other = await openStream(port, job.id, 'b');
    expect(other.res.statusCode).toBe(404);

    const stream = await openStream(port, job.id);
    expect(stream.res.statusCode).toBe(200);
    expect(stream.res.headers['content-type']).toMatch(/text\/event-stream/);
    await stream.until(() => stream.events.length >= 1);
    expect(stream.events[0]).toMatchObject({ event: 'status', data: { id: job.id, status: 'queued' } });

    await api.store.start(job.id, 1);
    const progress = {
      uploadedBytes: 512,
      totalBytes: 1024,
      percent: 50,
      partsDone: 0,
      partsTotal: 1,
      bytesPerSecond: 512,
    };
    await api.store.progress(job.id, progress);
    await stream.until(() => stream.events.length >= 3);
    await stream.until(() => stream.comments() >= 1);
    const result = {
      mediaId: 'v1',
      mediaType: 'video' as const,
      bucket: 'b',
      objectKey: 'k',
      size: 1024,
      crc64: '7',
      url: null,
    };
    await api.store.succeed(job.id, result);
    await stream.ended;
    expect(stream.events.map((e) => e.event)).toEqual(['status', 'status', 'progress', 'status']);
    expect(stream.events[1]?.data).toMatchObject({ status: 'running' });
    expect(stream.events[2]?.data).toEqual(progress);
    expect(stream.events[3]?.data).toMatchObject({ status: 'succeeded', result });

    // A finished job: one status event, then the stream ends.
    const late = await openStream(port, job.id);
    await late.ended;
    expect(late.events).toEqual([
      { event: 'status', data: expect.objectContaining({ status: 'succeeded' }) },
    ]);
  });

  it('stops listening when the client goes away', async () => {
    const { port } = api.app.server.address() as AddressInfo;
    const job = view(await api.createJob(fileJob(api)));
    const stream = await openStream(port, job.id);
    await stream.until(() => stream.events.length >= 1);
    const channel = api.store.keys.events(job.id);
    const count = async () => ((await api.redis.pubsub('NUMSUB', channel)) as [string, number])[1];
    expect(await count()).toBe(1);
    stream.res.destroy();
    while ((await count()) !== 0) await new Promise((r) => setTimeout(r, 20));
    expect(await count()).toBe(0);
  });

  it('releases the subscription of a client that hung up before the stream began', async () => {
    const { port } = api.app.server.address() as AddressInfo;
    const job = view(await api.createJob(fileJob(api)));
    const events = bus as ObservedEventBus;
    await events.until(() => events.live === 0);
    let reached!: () => void;
    let open!: () => void;
    const subscribed = new Promise<void>((r) => {
      reached = r;
    });
    events.hold = { reached, gate: new Promise<void>((r) => (open = r)) };
    const serverSide = new Promise<Socket>((r) => api.app.server.once('connection', r));
    const req = httpRequest({
      port,
      host: '127.0.0.1',
      path: `/v1/jobs/${job.id}/events`,
      headers: auth(),
      agent: false,
    });
    req.on('error', () => {});
    req.end();
    const socket = await serverSide;
    await subscribed; // the route holds a subscription and has not begun the stream yet
    const closed = new Promise((r) => socket.once('close', r));
    req.destroy();
    await closed;
    open();
    await events.until(() => events.live === 0);
    const channel = api.store.keys.events(job.id);
    const [, count] = (await api.redis.pubsub('NUMSUB', channel)) as [string, number];
    expect(count).toBe(0);
  });
});
