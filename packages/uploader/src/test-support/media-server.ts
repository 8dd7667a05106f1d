import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server serving one media body, with the misbehaviours the engine must survive. */
export interface MediaServer {
  readonly url: string;
  /** The content served; replace it to simulate a source that changed between attempts. */
  data: Buffer;
  /** Honour `Range` (206) or ignore it (always 200 with the whole body). @defaultValue true */
  ranges: boolean;
  /** Send no Content-Length (chunked): the size is unknown. @defaultValue false */
  chunked: boolean;
  /** Send ETag and Last-Modified (a generated export sends neither). @defaultValue true */
  validators: boolean;
  /** Destroy the connection after this many body bytes, for the next `dropTimes` GETs. */
  dropAfter: number;
  dropTimes: number;
  /** GET requests seen, with their Range header. */
  readonly gets: { range: string | undefined }[];
  close(): Promise<void>;
}

function etagOf(data: Buffer): string {
  return `"${createHash('sha256').update(data).digest('hex').slice(0, 32)}"`;
}

export async function startMediaServer(data: Buffer): Promise<MediaServer> {
  const state = {
    data,
    ranges: true,
    chunked: false,
    validators: true,
    dropAfter: 0,
    dropTimes: 0,
    gets: [] as { range: string | undefined }[],
  };
  const server = http.createServer((req, res) => {
    const body = state.data;
    const etag = etagOf(body);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'video/mp4',
      'accept-ranges': state.ranges ? 'bytes' : 'none',
      ...(state.validators ? { etag, 'last-modified': 'Sun, 22 Nov 2026 01:00:00 GMT' } : {}),
    };
    const length = (n: number) => (state.chunked ? {} : { 'content-length': n });
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, ...length(body.length) });
      res.end();
      return;
    }
    state.gets.push({ range: req.headers.range });
    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (state.ranges && range && (ifRange === undefined || ifRange === headers.etag)) {
      start = Number(range[1]);
      status = 206;
      headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const slice = body.subarray(start);
    res.writeHead(status, { ...headers, ...length(slice.length) });
    if (state.dropTimes > 0) {
      state.dropTimes--;
      res.write(slice.subarray(0, Math.min(state.dropAfter, slice.length)), () => {
        setImmediate(() => res.destroy());
      });
      return;
    }
    // Written in pieces, so a chunked response really is chunked.
    for (let i = 0; i < slice.length; i += 256 * 1024) res.write(slice.subarray(i, i + 256 * 1024));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/media/clip.mp4`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
