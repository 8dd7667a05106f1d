import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real HTTP server whose next answers a test scripts, for error paths the emulator cannot produce
 * on demand (a bodiless 403, a hung response, an HTML 502). Every request is recorded.
 */
export type Script = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface ScriptedServer {
  url: string;
  host: string;
  requests: { method: string; url: string; headers: IncomingMessage['headers']; bodyBytes: number }[];
  /** Handler for every following request. */
  respond(script: Script): void;
  close(): Promise<void>;
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  let script: Script = (_req, res) => {
    res.statusCode = 500;
    res.end();
  };
  const sockets = new Set<Socket>();
  const requests: ScriptedServer['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodyBytes: body.length,
      });
      script(req, res, body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    respond(next) {
      script = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function ossErrorXml(code: string, message: string, requestId = '5C3D9175B6FC201293AD0000'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>${code}</Code>
  <Message>${message}</Message>
  <RequestId>${requestId}</RequestId>
  <HostId>bucket.oss-cn-shanghai.aliyuncs.com</HostId>
</Error>`;
}
