import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export interface SourceServerOptions {
  /**
   * Bytes per second per response, so an upload lasts long enough to interrupt; null = as fast as
   * the machine goes. Changeable later with `setThrottle`. @defaultValue null
   */
  bytesPerSecond?: number | null;
}

/** One request the server answered (for assertions about Range use). */
export interface SourceRequest {
  method: string;
  path: string;
  range: string | undefined;
  status: number;
}

/**
 * A real node:http server serving registered files as URL sources: HEAD, GET, single `Range: bytes=`
 * requests (206 + Content-Range), a strong ETag and Last-Modified, optional throttling.
 */
export class SourceServer {
  readonly requests: SourceRequest[] = [];
  readonly #files = new Map<string, string>();
  readonly #server: http.Server;
  #bytesPerSecond: number | null;
  #base = '';

  private constructor(options: SourceServerOptions) {
    this.#bytesPerSecond = options.bytesPerSecond ?? null;
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch(() => res.destroy());
    });
  }

  static async start(options: SourceServerOptions = {}): Promise<SourceServer> {
    const s = new SourceServer(options);
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.#base = `http://127.0.0.1:${(s.#server.address() as AddressInfo).port}`;
    return s;
  }

  /** Serves `file` at `/<name>`; returns its URL. */
  serve(name: string, file: string): string {
    const urlPath = `/${encodeURIComponent(name)}`;
    this.#files.set(urlPath, file);
    return this.#base + urlPath;
  }

  setThrottle(bytesPerSecond: number | null): void {
    this.#bytesPerSecond = bytesPerSecond;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const urlPath = (req.url ?? '/').split('?')[0] ?? '/';
    const file = this.#files.get(urlPath);
    const record = (status: number) =>
      this.requests.push({ method: req.method ?? 'GET', path: urlPath, range: req.headers.range, status });
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      record(404);
      res.writeHead(404).end();
      return;
    }
    const stat = statSync(file);
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag,
      'last-modified': stat.mtime.toUTCString(),
    };
    let start = 0;
    let end = stat.size - 1;
    let status = 200;
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    if (range && (ifRange === undefined || ifRange === etag)) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range);
      if (m && (m[1] !== '' || m[2] !== '')) {
        if (m[1] === '') {
          start = Math.max(0, stat.size - Number(m[2]));
        } else {
          start = Number(m[1]);
          if (m[2] !== '') end = Math.min(end, Number(m[2]));
        }
        if (start >= stat.size || start > end) {
          record(416);
          res.writeHead(416, { 'content-range': `bytes */${stat.size}` }).end();
          return;
        }
        status = 206;
        headers['content-range'] = `bytes ${start}-${end}/${stat.size}`;
      }
    }
    headers['content-length'] = end - start + 1;
    record(status);
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || stat.size === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(file, { start, end, highWaterMark: 64 * 1024 });
    res.once('close', () => stream.destroy());
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (res.destroyed) return;
      const rate = this.#bytesPerSecond;
      res.write(chunk);
      if (rate) await delay((chunk.length * 1000) / rate);
      // Checked now, not from write()'s return value: a drain during the delay has already happened.
      if (res.writableNeedDrain && !res.destroyed) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    res.end();
  }
}
