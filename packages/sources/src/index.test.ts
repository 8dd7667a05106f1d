import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as sources from './index.js';
import { mediaHandler, startServer } from './test-support/http-server.js';

describe('@mediaferry/sources public API', () => {
  it('exports the factory, the policy helpers and the SSRF pieces the webhook sender reuses', () => {
    const exported = {
      createSource: sources.createSource,
      assertSourceAllowed: sources.assertSourceAllowed,
      closeSourcePolicy: sources.closeSourcePolicy,
      sourcePolicyFromConfig: sources.sourcePolicyFromConfig,
      isForbiddenAddress: sources.isForbiddenAddress,
      isAddressAllowed: sources.isAddressAllowed,
      assertUrlAllowed: sources.assertUrlAllowed,
      createGuardedDispatcher: sources.createGuardedDispatcher,
      inferFileName: sources.inferFileName,
      LocalFileSource: sources.LocalFileSource,
      UrlSource: sources.UrlSource,
    };
    for (const [name, value] of Object.entries(exported)) expect(typeof value, name).toBe('function');
    expect(sources.isForbiddenAddress('100.100.100.200')).toBe(true);
  });

  it('works end to end through the package entry: a callback-style POST with the guarded dispatcher', async () => {
    // What the webhook sender does: same policy, same dispatcher, a different method.
    const body = randomBytes(1000);
    const server = await startServer((req, res) => {
      if (req.method === 'POST') return void req.resume().on('end', () => res.writeHead(204).end());
      mediaHandler({ data: body })(req, res);
    });
    const strict = sources.createGuardedDispatcher({});
    const open = sources.createGuardedDispatcher({ allowPrivate: true });
    try {
      const { request } = await import('undici');
      await expect(
        request(`${server.url}/hook`, { method: 'POST', body: '{}', dispatcher: strict }),
      ).rejects.toMatchObject({
        code: 'SOURCE_FORBIDDEN',
      });
      const res = await request(`${server.url}/hook`, { method: 'POST', body: '{}', dispatcher: open });
      expect(res.statusCode).toBe(204);
      await res.body.dump();

      const policy = { fileRoots: [], allowPrivate: true, maxUrlBytes: 1e6, dispatcher: open };
      const src = sources.createSource({ type: 'url', url: `${server.url}/x.mp4` }, policy);
      const reader = await src.open({ start: 0 });
      const buf = Buffer.alloc(2000);
      expect(await reader.read(buf)).toBe(1000);
      await reader.close();
      const hash = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
      expect(hash(buf.subarray(0, 1000))).toBe(hash(body));
    } finally {
      await strict.close();
      await open.close();
      await server.close();
    }
  });
});
