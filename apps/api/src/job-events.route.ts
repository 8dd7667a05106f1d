import { isTerminal, type JobEvent, type JobEventBus, type JobStore, toJobView } from '@mediaferry/queue';
import type { FastifyInstance } from 'fastify';
import { notFound, unavailable } from './api-error.js';
import { jobIdParamsSchema } from './schemas.js';

export interface JobEventsRouteOptions {
  store: JobStore;
  events: JobEventBus;
  /** Comment line sent while nothing happens, so proxies keep the stream open. @defaultValue 15000 */
  heartbeatMs: number;
}

/**
 * GET /v1/jobs/:id/events — `text/event-stream`:
 * - `event: status`, data = the Job view, first on connect and on every status change;
 * - `event: progress`, data = the job's `progress` object;
 * - `: heartbeat` comments; the stream ends after the status event of a finished job.
 * Subscribes BEFORE reading the record, so no change between the two is missed. A client that
 * leaves at any point (even before the stream began) releases its subscription.
 */
export function registerJobEventsRoute(app: FastifyInstance, options: JobEventsRouteOptions): void {
  const open = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of [...open]) end();
  });

  app.get('/v1/jobs/:id/events', async (request, reply) => {
    const { id } = jobIdParamsSchema.parse(request.params);
    // 'close' fires once: watch from the start, or a client leaving during the awaits below would
    // never be noticed and its subscription would live until the job ends (or forever).
    let gone = false;
    const onGone = () => {
      gone = true;
    };
    reply.raw.once('close', onGone);
    // A subscription made while the subscriber connection is away would wait for its reconnect.
    if (!options.events.ready) throw unavailable('Job events are unavailable; try again shortly');
    const owned = await options.store.getOwned(id, request.service);
    if (!owned) throw notFound();

    const queue: JobEvent[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = await options.events.subscribeJob(id, (event) => {
      queue.push(event);
      wake?.();
    });

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': request.id,
    });
    let closed = false;
    const end = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      void unsubscribe();
      open.delete(end);
      wake?.();
      if (!res.writableEnded) res.end();
    };
    open.add(end);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), options.heartbeatMs);
    res.off('close', onGone);
    res.on('close', end);
    if (gone || res.destroyed) {
      end();
      return;
    }
    const send = (event: string, data: unknown) => {
      if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };

    try {
      // Re-reads the record on every status event: the view carries the new fields (result, error).
      const sendStatus = async (): Promise<boolean> => {
        const record = await options.store.get(id);
        if (!record) return true;
        send('status', toJobView(record));
        return isTerminal(record.status);
      };
      let finished = await sendStatus();
      while (!finished && !closed) {
        const event = queue.shift();
        if (!event) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        if (event.type === 'progress') send('progress', event.progress);
        else finished = await sendStatus();
      }
    } catch (err) {
      request.log.warn({ err }, 'event stream ended by an error');
    } finally {
      end();
    }
  });
}
