import { readFile } from 'node:fs/promises';

/** One request line of the API's log (`RequestLogController`: method, path, status, ms). */
export interface RequestLine {
  method: string;
  path: string;
  status: number;
  ms: number;
}

/**
 * The request lines of a pino log file, in the order the API finished them. The API times each request
 * itself (Fastify's `elapsedTime`, from routing to reply sent): compared with the client's latency it
 * tells time in the handler from time spent queued before it (sockets, event loop, a starved CPU).
 */
export async function readRequestLines(file: string, method: string, path: string): Promise<RequestLine[]> {
  const text = await readFile(file, 'utf8');
  const out: RequestLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.includes('"ms"')) continue;
    try {
      const line = JSON.parse(raw) as Partial<RequestLine>;
      if (line.method === method && line.path === path && typeof line.ms === 'number') {
        out.push({ method, path, status: line.status ?? 0, ms: line.ms });
      }
    } catch {
      // not JSON (a stack trace): skip
    }
  }
  return out;
}
