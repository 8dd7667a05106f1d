import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  SourceForbiddenError,
  SourceNotFoundError,
  type SourceReader,
  type SourceSpec,
} from '@mediaferry/core';
import { makeTempDir, type TempDir } from '@mediaferry/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileCheckCache, resolveAllowedFile } from './local-file.source.js';
import { assertSourceAllowed, closeSourcePolicy, createSource, dispatcherFor } from './source-factory.js';
import type { LookupFunction, SourcePolicy } from './source-policy.js';
import { mediaHandler, startServer, type TestServer } from './test-support/http-server.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function readAll(reader: SourceReader): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const buf = Buffer.alloc(256 * 1024);
    const n = await reader.read(buf);
    parts.push(buf.subarray(0, n));
    if (n < buf.length) return Buffer.concat(parts);
  }
}

const toLoopback: LookupFunction = async (host) => {
  if (host === 'media.test' || host === 'localhost') return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
};

let tmp: TempDir;
let root: string;
let data: Buffer;
let server: TestServer;
let policies: SourcePolicy[];

beforeEach(async () => {
  tmp = await makeTempDir('mf-sources-factory-');
  root = path.join(tmp.path, 'media');
  await mkdir(root);
  data = randomBytes(700_000);
  await writeFile(path.join(root, 'a.mp4'), data);
  server = await startServer(mediaHandler({ data }));
  policies = [];
});

afterEach(async () => {
  await Promise.all(policies.map((p) => closeSourcePolicy(p)));
  await server.close();
  await tmp.remove();
});

function policy(overrides: Partial<SourcePolicy> = {}): SourcePolicy {
  const p: SourcePolicy = {
    fileRoots: [root],
    allowPrivate: false,
    maxUrlBytes: 10 * 1024 * 1024,
    ...overrides,
  };
  policies.push(p);
  return p;
}

describe('createSource', () => {
  it('builds a file source bound to the roots', async () => {
    const src = createSource({ type: 'file', path: path.join(root, 'a.mp4') }, policy());
    expect(src.kind).toBe('file');
    const reader = await src.open({ start: 0, expectedFingerprint: (await src.stat()).fingerprint });
    expect(sha256(await readAll(reader))).toBe(sha256(data));
    await reader.close();
    await expect(
      createSource({ type: 'file', path: '/etc/hostname' }, policy()).stat(),
    ).rejects.toBeInstanceOf(SourceForbiddenError);
  });

  it('builds a URL source with the job headers, name resolution and size limit of the policy', async () => {
    const p = policy({ allowPrivate: true, lookup: toLoopback });
    const src = createSource(
      { type: 'url', url: `http://media.test:${server.port}/v/a.mp4?sig=x`, headers: { 'X-Token': 't' } },
      p,
    );
    expect(src).toMatchObject({ kind: 'url', description: `http://media.test:${server.port}/v/a.mp4` });
    const st = await src.stat();
    expect(st).toMatchObject({ size: data.length, fileName: 'a.mp4' });
    const reader = await src.open({ start: 0, expectedFingerprint: st.fingerprint });
    expect(sha256(await readAll(reader))).toBe(sha256(data));
    await reader.close();
    expect(server.requests.every((r) => r.headers['x-token'] === 't')).toBe(true);
    await expect(
      createSource(
        { type: 'url', url: `${server.url}/a.mp4` },
        policy({ allowPrivate: true, maxUrlBytes: 10 }),
      ).stat(),
    ).rejects.toMatchObject({ code: 'SOURCE_TOO_LARGE' });
  });

  it('shares one guarded dispatcher per policy, unless the policy brings its own', async () => {
    const p = policy();
    expect(dispatcherFor(p)).toBe(dispatcherFor(p));
    expect(dispatcherFor(policy())).not.toBe(dispatcherFor(p));
    const own = dispatcherFor(policy({ allowPrivate: true }));
    expect(dispatcherFor(policy({ dispatcher: own }))).toBe(own);
  });
});

describe('SSRF through createSource with allowPrivate=false: refused, no connection made', () => {
  const vectors = (port: number) => [
    `http://127.0.0.1:${port}/a.mp4`,
    `http://localhost:${port}/a.mp4`,
    `http://[::ffff:127.0.0.1]:${port}/a.mp4`,
    `http://2130706433:${port}/a.mp4`,
    `http://0x7f000001:${port}/a.mp4`,
    `http://0177.0.0.1:${port}/a.mp4`,
    `http://0.0.0.0:${port}/a.mp4`,
    `http://media.test:${port}/a.mp4`,
    'http://10.0.0.1/a.mp4',
    'http://172.16.0.1/a.mp4',
    'http://192.168.1.1/a.mp4',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.100.100.200/latest/meta-data/',
    'file:///etc/passwd',
    'ftp://media.test/a.mp4',
    'gopher://media.test:70/_x',
  ];

  it('every vector, at stat, open and the API check', async () => {
    const p = policy({ lookup: toLoopback, timeouts: { connectMs: 2000 } });
    for (const url of vectors(server.port)) {
      const spec: SourceSpec = { type: 'url', url };
      const src = createSource(spec, p);
      await expect(src.stat(), url).rejects.toBeInstanceOf(SourceForbiddenError);
      await expect(src.open({ start: 0 }), url).rejects.toBeInstanceOf(SourceForbiddenError);
      await expect(assertSourceAllowed(spec, p), url).rejects.toBeInstanceOf(SourceForbiddenError);
    }
    expect(server.connections).toBe(0);
  });

  it('[::1] too, when the machine has IPv6 loopback', async (ctx) => {
    const v6 = await startServer(mediaHandler({ data }), '::1').catch(() => null);
    if (!v6) return ctx.skip();
    try {
      const p = policy();
      const src = createSource({ type: 'url', url: `${v6.url}/a.mp4` }, p);
      await expect(src.stat()).rejects.toBeInstanceOf(SourceForbiddenError);
      await expect(src.open({ start: 0 })).rejects.toBeInstanceOf(SourceForbiddenError);
      expect(v6.connections).toBe(0);
      // The same server is reachable when private addresses are allowed: the refusal above was the policy.
      expect(
        (await createSource({ type: 'url', url: `${v6.url}/a.mp4` }, policy({ allowPrivate: true })).stat())
          .size,
      ).toBe(data.length);
    } finally {
      await v6.close();
    }
  });

  it('a redirect from an allowed host to loopback', async () => {
    const target = await startServer(mediaHandler({ data }), '127.0.0.2');
    const hop = await startServer((_req, res) =>
      res.writeHead(302, { location: `${target.url}/a.mp4` }).end(),
    );
    try {
      // Only the redirecting host is excepted from the policy.
      const p = policy({ allowedCidrs: ['127.0.0.1/32'] });
      await expect(assertSourceAllowed({ type: 'url', url: `${hop.url}/go` }, p)).resolves.toBeUndefined();
      await expect(
        createSource({ type: 'url', url: `${hop.url}/go` }, p).open({ start: 0 }),
      ).rejects.toBeInstanceOf(SourceForbiddenError);
      expect(hop.connections).toBeGreaterThan(0);
      expect(target.connections).toBe(0);
    } finally {
      await hop.close();
      await target.close();
    }
  });
});

describe('assertSourceAllowed', () => {
  it('accepts a file under the roots and a URL whose host is allowed, without downloading', async () => {
    await assertSourceAllowed({ type: 'file', path: path.join(root, 'a.mp4') }, policy());
    await assertSourceAllowed(
      { type: 'url', url: `http://media.test:${server.port}/a.mp4` },
      policy({ allowPrivate: true, lookup: toLoopback }),
    );
    expect(server.connections).toBe(0);
  });

  it('refuses missing files, files outside the roots, unresolvable hosts', async () => {
    await expect(
      assertSourceAllowed({ type: 'file', path: path.join(root, 'missing.mp4') }, policy()),
    ).rejects.toBeInstanceOf(SourceNotFoundError);
    await expect(assertSourceAllowed({ type: 'file', path: '/etc/passwd' }, policy())).rejects.toBeInstanceOf(
      SourceForbiddenError,
    );
    await expect(
      assertSourceAllowed({ type: 'file', path: path.join(root, 'a.mp4') }, policy({ fileRoots: [] })),
    ).rejects.toBeInstanceOf(SourceForbiddenError);
    await expect(
      assertSourceAllowed({ type: 'url', url: 'https://nowhere.test/a.mp4' }, policy({ lookup: toLoopback })),
    ).rejects.toBeInstanceOf(SourceNotFoundError);
  });

  it('reuses the real paths of the roots for earlyCheckCacheMs, never the file itself', async () => {
    // The root is a symlink, re-pointed between checks: the cached real root answers until it expires.
    const dirA = path.join(tmp.path, 'dir-a');
    const dirB = path.join(tmp.path, 'dir-b');
    await mkdir(dirA);
    await mkdir(dirB);
    await writeFile(path.join(dirA, 'a.mp4'), 'a');
    await writeFile(path.join(dirB, 'b.mp4'), 'b');
    const link = path.join(tmp.path, 'media-link');
    await symlink(dirA, link);
    const cached = policy({ fileRoots: [link], earlyCheckCacheMs: 60_000 });
    const uncached = policy({ fileRoots: [link], earlyCheckCacheMs: 0 });
    await assertSourceAllowed({ type: 'file', path: path.join(link, 'a.mp4') }, cached);
    await unlink(path.join(dirA, 'a.mp4'));
    await expect(
      assertSourceAllowed({ type: 'file', path: path.join(link, 'a.mp4') }, cached),
    ).rejects.toBeInstanceOf(SourceNotFoundError);
    await rm(link);
    await symlink(dirB, link);
    const b = { type: 'file' as const, path: path.join(link, 'b.mp4') };
    await expect(assertSourceAllowed(b, cached)).rejects.toMatchObject({
      details: { reason: 'OUTSIDE_ROOTS' },
    });
    await assertSourceAllowed(b, uncached);

    let now = 0;
    const cache = new FileCheckCache(1000, () => now);
    await rm(link);
    await symlink(dirA, link);
    await writeFile(path.join(dirA, 'a.mp4'), 'a');
    await resolveAllowedFile(path.join(link, 'a.mp4'), [link], undefined, cache);
    await rm(link);
    await symlink(dirB, link);
    now = 999;
    await expect(resolveAllowedFile(b.path, [link], undefined, cache)).rejects.toBeInstanceOf(
      SourceForbiddenError,
    );
    now = 1000;
    expect((await resolveAllowedFile(b.path, [link], undefined, cache)).realPath).toBe(
      path.join(dirB, 'b.mp4'),
    );
  });
});
