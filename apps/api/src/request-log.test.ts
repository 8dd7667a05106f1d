import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@mediaferry/telemetry';
import { makeTempDir } from '@mediaferry/testkit';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  createRequestLogger,
  lazyChildLogger,
  RequestLogController,
  TurnBatchedWriter,
} from './request-log.js';

const capture = (into: string[]) =>
  new Writable({
    write(chunk, _enc, cb) {
      into.push(String(chunk));
      cb();
    },
  });

describe('RequestLogController', () => {
  it('writes one line of known-safe fields per request to the lean logger, errors to the scrubbing one', async () => {
    const lean: string[] = [];
    const scrubbed: string[] = [];
    const app = Fastify({
      loggerInstance: createLogger({ name: 'api', destination: capture(scrubbed) }) as FastifyBaseLogger,
      logController: new RequestLogController(createRequestLogger({ destination: capture(lean) })),
      childLoggerFactory: lazyChildLogger,
    });
    app.decorateRequest('service', '');
    app.get('/ok/*', async (request) => {
      request.service = 'svc-a';
      return { ok: true };
    });
    app.get('/boom', async () => {
      throw Object.assign(new Error('boom'), { details: { authorization: 'Bearer in-error-secret' } });
    });
    const headers = { authorization: 'Bearer header-secret', cookie: 'session=cookie-secret' };
    await app.inject({
      method: 'GET',
      url: '/ok/http://user:path-secret@h.test/x?token=query-secret',
      headers,
    });
    await app.inject({ method: 'GET', url: '/boom', headers });
    await app.close();

    const lines = lean.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.status)).toEqual([200, 500]);
    expect(Object.keys(lines[0] as object).sort()).toEqual(
      [
        'hostname',
        'level',
        'method',
        'ms',
        'msg',
        'name',
        'path',
        'pid',
        'reqId',
        'service',
        'status',
        'time',
      ].sort(),
    );
    expect(lines[0]).toMatchObject({
      level: 'info',
      name: 'api',
      method: 'GET',
      msg: 'request',
      service: 'svc-a',
    });
    expect(lines[0]?.path).toContain('/ok/http://');
    // The handler's error is logged by the error handler, through the request's (lazy) child of the
    // scrubbing logger, with its request id.
    const errorLine = JSON.parse(scrubbed.find((l) => l.includes('boom')) ?? '{}') as Record<string, unknown>;
    expect(errorLine).toMatchObject({ level: 'error', reqId: expect.any(String) });
    for (const secret of [
      'header-secret',
      'cookie-secret',
      'path-secret',
      'query-secret',
      'in-error-secret',
    ]) {
      expect(lean.join('') + scrubbed.join('')).not.toContain(secret);
    }
  });
});

describe('TurnBatchedWriter', () => {
  it('writes the lines of one turn together at its end, and everything on flushSync', async () => {
    const dir = await makeTempDir('mf-api-lines-');
    const file = path.join(dir.path, 'lines.log');
    const fd = openSync(file, 'a');
    try {
      const writer = new TurnBatchedWriter(fd, 3);
      writer.write('a\n');
      writer.write('b\n');
      expect(readFileSync(file, 'utf8')).toBe('');
      await new Promise((resolve) => setImmediate(resolve));
      expect(readFileSync(file, 'utf8')).toBe('a\nb\n');
      for (const l of ['c\n', 'd\n', 'e\n']) writer.write(l); // maxLines reached: written at once
      expect(readFileSync(file, 'utf8')).toBe('a\nb\nc\nd\ne\n');
      writer.write('f\n');
      writer.flushSync(); // on exit
      expect(readFileSync(file, 'utf8')).toBe('a\nb\nc\nd\ne\nf\n');
    } finally {
      closeSync(fd);
      await dir.remove();
    }
  });
});
