import net from 'node:net';
import { SourceForbiddenError } from '@mediaferry/core';
import { type Agent, Pool } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LookupFunction } from './source-policy.js';
import {
  assertUrlAllowed,
  createGuardedDispatcher,
  isAddressAllowed,
  isForbiddenAddress,
} from './ssrf-guard.js';
import { startServer, type TestServer } from './test-support/http-server.js';
import { UrlSource } from './url.source.js';

/**
 * Adversarial review of the SSRF guard: every spelling of a local address, DNS rebinding, happy eyeballs,
 * against real servers listening on loopback. Each case must be refused without a TCP connection.
 */

let v4: TestServer;
let v6: TestServer;
let strict: Agent;

beforeAll(async () => {
  v4 = await startServer((_req, res) => res.end('v4'));
  // Same port on ::1 so `localhost` (either family) reaches a listener if the guard let it through.
  v6 = await startServer((_req, res) => res.end('v6'), '::1', v4.port);
  strict = createGuardedDispatcher({});
});

afterAll(async () => {
  await strict.close();
  await v4.close();
  await v6.close();
});

const refusedWithoutConnecting = async (url: string, dispatcher: Agent = strict) => {
  const before = v4.connections + v6.connections;
  const src = new UrlSource(url, { dispatcher, maxBytes: 1024 });
  await expect(src.open({ start: 0 }), url).rejects.toBeInstanceOf(SourceForbiddenError);
  await expect(src.stat(), url).rejects.toBeInstanceOf(SourceForbiddenError);
  expect(v4.connections + v6.connections, url).toBe(before);
};

describe('local addresses in every spelling (real resolver, real listeners)', () => {
  const spellings = (p: number) => [
    `http://127.1:${p}/`,
    `http://0:${p}/`,
    `http://0.0.0.0:${p}/`,
    `http://[::]:${p}/`,
    `http://[::1]:${p}/`,
    `http://[0:0:0:0:0:ffff:7f00:1]:${p}/`,
    `http://[::ffff:127.0.0.1]:${p}/`,
    `http://[::ffff:0.0.0.0]:${p}/`,
    `http://[::127.0.0.1]:${p}/`,
    `http://[64:ff9b::7f00:1]:${p}/`,
    `http://[2002:7f00:1::1]:${p}/`,
    `http://LOCALHOST:${p}/`,
    `http://%6c%6f%63%61%6c%68%6f%73%74:${p}/`,
    `http://127.0.0.1.:${p}/`,
    `http://%31%32%37.0.0.1:${p}/`,
    `http://127\u30020\u30020\u30021:${p}/`,
    `http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3:${p}/`,
    `http://0x7f.0.0.1:${p}/`,
    `http://0177.1:${p}/`,
    `http://2130706433:${p}/`,
    `http://user@127.0.0.1:${p}/`,
    `http://user:pw@localhost:${p}/`,
    `http://runsc:${p}/`,
    `https://127.0.0.1:${p}/`,
    `https://localhost:${p}/`,
  ];

  it('every spelling of loopback / unspecified is refused before connecting', async () => {
    for (const url of spellings(v4.port)) await refusedWithoutConnecting(url);
  });

  it('the API-side check refuses them too', async () => {
    for (const url of spellings(v4.port)) {
      await expect(assertUrlAllowed(url), url).rejects.toBeInstanceOf(SourceForbiddenError);
    }
  });

  it('trailing-dot names: whatever the resolver answers is checked, nothing is connected', async () => {
    // A stub resolver treats `localhost.` as the absolute name of localhost.
    const absolute: LookupFunction = async (host) => {
      if (host.toLowerCase().replace(/\.$/, '') === 'localhost') {
        return [
          { address: '::1', family: 6 },
          { address: '127.0.0.1', family: 4 },
        ];
      }
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    const dispatcher = createGuardedDispatcher({ lookup: absolute });
    try {
      for (const url of [`http://localhost.:${v4.port}/`, `http://LocalHost.:${v4.port}/`]) {
        await refusedWithoutConnecting(url, dispatcher);
        await expect(assertUrlAllowed(url, { lookup: absolute })).rejects.toBeInstanceOf(
          SourceForbiddenError,
        );
        // The machine's own resolver may not know `localhost.` at all: a refusal either way.
        const before = v4.connections + v6.connections;
        await expect(
          new UrlSource(url, { dispatcher: strict, maxBytes: 1 }).open({ start: 0 }),
        ).rejects.toMatchObject({ code: expect.stringMatching(/^SOURCE_(FORBIDDEN|NOT_FOUND)$/) });
        expect(v4.connections + v6.connections).toBe(before);
      }
    } finally {
      await dispatcher.close();
    }
  });

  it('IPv6 zone ids are refused (invalid URL or link-local)', async () => {
    for (const url of ['http://[fe80::1%25lo]/', 'http://[fe80::1%lo]/', 'http://[::1%251]/']) {
      await expect(assertUrlAllowed(url), url).rejects.toBeInstanceOf(SourceForbiddenError);
      expect(() => new UrlSource(url, { dispatcher: strict, maxBytes: 1 }), url).toThrow(
        SourceForbiddenError,
      );
    }
    for (const ip of ['fe80::1%lo', 'fe80::1%1', '::1%lo', '::ffff:127.0.0.1%eth0']) {
      expect(isForbiddenAddress(ip), ip).toBe(true);
    }
  });
});

describe('dispatcher options cannot replace the guarded connector', () => {
  it('a pool factory smuggled in through agentOptions is ignored', async () => {
    const factory = (origin: URL | string, opts: object) => new Pool(origin, { ...opts, connect: undefined });
    const dispatcher = createGuardedDispatcher({
      agentOptions: { factory } as never, // only a plain-JS caller can pass it
    });
    try {
      await refusedWithoutConnecting(`http://127.0.0.1:${v4.port}/`, dispatcher);
    } finally {
      await dispatcher.close();
    }
  });
});

describe('address classification edge cases', () => {
  it.each([
    // inet_ntop prints IPv4-compatible addresses (::/96) in dotted form; they are still IPv4-compatible.
    '::8.8.8.8',
    '::1.2.3.4',
    '0:0:0:0:0:0:8.8.8.8',
    '::808:808',
    // NAT64 local-use prefix (RFC 8215), IPv4-translated (RFC 6145), Teredo, discard-only, ORCHID.
    '64:ff9b:1::a00:1',
    '::ffff:0:a00:1',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    '100::1',
    '2001:20::1',
    // Alibaba Cloud metadata in every embedding.
    '100.100.100.200',
    '::ffff:100.100.100.200',
    '::ffff:6464:64c8',
    '64:ff9b::6464:64c8',
    '2002:6464:64c8::1',
  ])('%s is forbidden', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it('allowedCidrs do not extend to IPv4-compatible spellings of an excepted IPv4 address', () => {
    const policy = { allowedCidrs: ['10.1.2.3/32'] };
    expect(isAddressAllowed('::ffff:10.1.2.3', policy)).toBe(true);
    expect(isAddressAllowed('::10.1.2.3', policy)).toBe(false);
    expect(isAddressAllowed('::a01:203', policy)).toBe(false);
  });
});

describe('DNS: rebinding, mixed answers, happy eyeballs', () => {
  afterEach(() => {
    net.setDefaultAutoSelectFamily(true);
  });

  it('a name that resolved public at check time and private at connect time is refused at connect', async () => {
    let calls = 0;
    const rebinding: LookupFunction = async () =>
      calls++ === 0 ? [{ address: '93.184.215.14', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
    const url = `http://rebind.test:${v4.port}/a.mp4`;
    await assertUrlAllowed(url, { lookup: rebinding }); // the API's early check passes
    const dispatcher = createGuardedDispatcher({ lookup: rebinding });
    try {
      await refusedWithoutConnecting(url, dispatcher);
      expect(calls).toBeGreaterThan(1);
    } finally {
      await dispatcher.close();
    }
  });

  for (const autoSelectFamily of [true, false]) {
    it(`mixed public/private answers: the socket only ever gets the allowed ones (autoSelectFamily=${autoSelectFamily})`, async () => {
      net.setDefaultAutoSelectFamily(autoSelectFamily);
      // ::1 and 127.0.0.2 listen but are not allowed; 127.0.0.1 is the only excepted address.
      const decoy = await startServer((_req, res) => res.end('decoy'), '127.0.0.2', v4.port);
      const lookup: LookupFunction = async () => [
        { address: '::1', family: 6 },
        { address: '127.0.0.2', family: 4 },
        { address: '::ffff:127.0.0.2', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ];
      const dispatcher = createGuardedDispatcher({ lookup, allowedCidrs: ['127.0.0.1/32'] });
      const before = { v4: v4.connections, v6: v6.connections };
      try {
        const reader = await new UrlSource(`http://mixed.test:${v4.port}/`, {
          dispatcher,
          maxBytes: 1024,
        }).open({ start: 0 });
        const buf = Buffer.alloc(16);
        expect(buf.subarray(0, await reader.read(buf)).toString()).toBe('v4');
        await reader.close();
        expect(v4.connections).toBe(before.v4 + 1);
        expect(v6.connections).toBe(before.v6);
        expect(decoy.connections).toBe(0);
      } finally {
        await dispatcher.close();
        await decoy.close();
      }
    });
  }

  it('a lookup answering only private addresses of the other family is refused, not connected', async () => {
    for (const autoSelectFamily of [true, false]) {
      net.setDefaultAutoSelectFamily(autoSelectFamily);
      const lookup: LookupFunction = async () => [
        { address: '::1', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ];
      const dispatcher = createGuardedDispatcher({ lookup });
      try {
        await refusedWithoutConnecting(`http://both.test:${v4.port}/`, dispatcher);
      } finally {
        await dispatcher.close();
      }
    }
  });
});
