import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Real HTTP servers for tests: they record requests and count TCP connections. */

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface TestServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export async function startServer(handler: Handler, host = '127.0.0.1', port = 0): Promise<TestServer> {
  let connections = 0;
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${bound}`,
    host,
    port: bound,
    get connections() {
      return connections;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface MediaOptions {
  /** The content; change it between attempts to simulate a changed source. */
  data: Buffer;
  /** 'ok' (default), 'refuse' (405), 'zero' (Content-Length: 0), 'no-length' (200 without length). */
  head?: 'ok' | 'refuse' | 'zero' | 'no-length';
  /** Honour Range (default) or ignore it and always send 200 with the whole body. */
  ranges?: boolean;
  /** Omit Content-Length (chunked transfer). */
  chunked?: boolean;
  /** Send a strong ETag derived from the content (default true). */
  etag?: boolean;
  /** Last-Modified to announce. */
  lastModified?: string;
  contentType?: string;
  contentDisposition?: string;
  /** Answer 412 when If-Range does not match, instead of the standard 200 with the full body. */
  preconditionFailedOnMismatch?: boolean;
  /** Destroy the socket after sending this many body bytes, for the next `dropTimes` GETs. */
  dropAfter?: number;
  dropTimes?: number;
  /** Bytes written per `write()` call. */
  writeSize?: number;
}

export function etagOf(data: Buffer): string {
  return `"${createHash('sha256').update(data).digest('hex').slice(0, 16)}"`;
}

/** A handler serving `options.data` like a static file server would, with knobs for misbehaviour. */
export function mediaHandler(options: MediaOptions): Handler {
  return (req, res) => {
    const data = options.data;
    const etag = options.etag === false ? undefined : etagOf(data);
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'video/mp4' };
    if (etag) headers.etag = etag;
    if (options.lastModified) headers['last-modified'] = options.lastModified;
    if (options.contentDisposition) headers['content-disposition'] = options.contentDisposition;
    if (options.ranges !== false) headers['accept-ranges'] = 'bytes';

    if (req.method === 'HEAD') {
      const mode = options.head ?? 'ok';
      if (mode === 'refuse') return void res.writeHead(405).end();
      if (mode === 'zero') return void res.writeHead(200, { ...headers, 'content-length': '0' }).end();
      if (mode === 'no-length') return void res.writeHead(200, headers).end();
      return void res.writeHead(200, { ...headers, 'content-length': String(data.length) }).end();
    }

    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && options.ranges !== false) {
      const ifRange = req.headers['if-range'];
      const validatorOk =
        ifRange === undefined ||
        ifRange === etag ||
        (options.lastModified !== undefined && ifRange === options.lastModified);
      if (!validatorOk && options.preconditionFailedOnMismatch) return void res.writeHead(412).end();
      if (validatorOk) {
        start = Number(range[1]);
        if (start >= data.length) {
          return void res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        }
        status = 206;
        headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
      }
    }
    const body = data.subarray(start);
    if (!options.chunked) headers['content-length'] = String(body.length);
    res.writeHead(status, headers);

    const drop = options.dropAfter !== undefined && (options.dropTimes ?? 1) > 0;
    if (drop) options.dropTimes = (options.dropTimes ?? 1) - 1;
    const limit = drop ? Math.min(options.dropAfter ?? 0, body.length) : body.length;
    const step = options.writeSize ?? 64 * 1024;
    let offset = 0;
    const pump = () => {
      while (offset < limit) {
        const piece = body.subarray(offset, Math.min(offset + step, limit));
        offset += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      if (drop) {
        // Let the bytes written so far leave, then cut the connection mid-body.
        res.socket?.end(() => res.socket?.destroy());
        return;
      }
      res.end();
    };
    pump();
  };
}
