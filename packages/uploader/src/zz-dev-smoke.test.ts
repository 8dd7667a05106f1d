// @ts-nocheck
import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { NoSuchUploadError } from '@mediaferry/core';
import { crc64 } from '@mediaferry/crc64';
import { UploadEngine } from './upload-engine.js';
import { MemoryCheckpointStore } from './memory-checkpoint.store.js';
import { it } from 'vitest';
it('smoke', async () => {

const data = randomBytes(5 * 1024 * 1024 + 12345);
writeFileSync('/tmp/mf-dev/src.bin', data);
const source = {
  kind: 'file', description: 'src.bin',
  async stat() { return { size: data.length, fingerprint: 'fp1', fileName: 'a.mp4', contentType: 'video/mp4', seekable: true }; },
  async open({ start }) {
    const fh = await open('/tmp/mf-dev/src.bin'); let position = start;
    return { get position() { return position; }, async read(t) { let f = 0; while (f < t.length) { const { bytesRead } = await fh.read(t, f, t.length - f, position); if (!bytesRead) break; f += bytesRead; position += bytesRead; } return f; }, async close() { await fh.close().catch(()=>{}); } };
  },
};
const uploads = new Map(); let obj = null; let failEvery = 0; let n = 0;
const target = {
  async prepare() { return { mediaId: 'm1', mediaType: 'video', bucket: 'b', objectKey: 'k', url: null }; },
  async initMultipart() { const id = 'u' + uploads.size; uploads.set(id, new Map()); return id; },
  async uploadPart(id, pn, body, o) {
    await new Promise(r => setTimeout(r, 5));
    if (failEvery && ++n % failEvery === 0) { const e = new Error('reset'); e.code = 'ECONNRESET'; throw e; }
    const u = uploads.get(id); if (!u) throw new NoSuchUploadError('x');
    const etag = '"' + createHash('md5').update(body).digest('hex').toUpperCase() + '"';
    u.set(pn, { partNumber: pn, etag, size: body.length, data: Buffer.from(body) }); o?.onBytesSent?.(body.length);
    return { partNumber: pn, etag, size: body.length, crc64: crc64(body).toString() };
  },
  async listParts(id) { const u = uploads.get(id); if (!u) throw new NoSuchUploadError('x'); return [...u.values()].map(({data, ...p}) => p); },
  async complete(id, parts) { const u = uploads.get(id); if (!u) throw new NoSuchUploadError('x'); const buf = Buffer.concat(parts.map(p => u.get(p.partNumber).data)); uploads.delete(id); obj = buf; return { etag: '"x"', crc64: crc64(buf).toString(), size: buf.length }; },
  async abort(id) { uploads.delete(id); },
  async head() { return obj ? { etag: '"x"', crc64: crc64(obj).toString(), size: obj.length } : null; },
};
const store = new MemoryCheckpointStore();
const logger = { debug() {}, info: (o, m) => console.log('info', m, JSON.stringify(o)), warn: (o, m) => console.log('warn', m), error: console.error };
const e1 = new UploadEngine({ checkpoints: store, partSize: 256 * 1024, parallelism: 3, logger, backoff: { baseMs: 1, maxMs: 5 } });
const ac = new AbortController();
let seen = 0;
const r1 = e1.run({ uploadKey: 'job1', source, target, signal: ac.signal, onProgress: (p) => { if (p.bytesUploaded > 2e6 && !ac.signal.aborted) ac.abort(); } });
setTimeout(() => ac.abort(), 40);
try { await r1; console.log('no abort?'); } catch (e) { console.log('run1', e.name, e.message); }
console.log('cp parts', (await store.get('job1'))?.parts.length);
failEvery = 4;
const e2 = new UploadEngine({ checkpoints: store, partSize: 256 * 1024, parallelism: 3, logger, backoff: { baseMs: 1, maxMs: 5 } });
const res = await e2.run({ uploadKey: 'job1', source, target, onProgress: (p) => console.log('progress', JSON.stringify(p)) });
console.log(res, obj.equals(data), crc64(data).toString());

});
