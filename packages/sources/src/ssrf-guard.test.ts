import {
  AbortError,
  SourceForbiddenError,
  SourceNotFoundError,
  SourceUnavailableError,
} from '@mediaferry/core';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LookupFunction } from './source-policy.js';
import {
  assertUrlAllowed,
  createGuardedDispatcher,
  isAddressAllowed,
  isForbiddenAddress,
  resolveAllowedAddresses,
} from './ssrf-guard.js';
import { startServer, type TestServer } from './test-support/http-server.js';

describe('isForbiddenAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '::1',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.100.100.200',
    '0.0.0.0',
    '0.1.2.3',
    '::',
    '224.0.0.1',
    '239.255.255.250',
    '255.255.255.255',
    '240.0.0.1',
    '192.0.2.1',
    '198.18.0.1',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    'fec0::1',
    '2001:db8::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::127.0.0.1',
    '::7f00:1',
    '64:ff9b::7f00:1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::',
    '2002:c0a8:101::1',
    '2130706433',
    '0x7f000001',
    '0x7f.1',
    '0177.0.0.1',
    '017700000001',
    '[::1]',
    'localhost',
    'not an ip',
    '',
  ])('%s is forbidden', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '47.88.1.1',
    '100.63.255.255',
    '100.128.0.1',
    '172.32.0.1',
    '2606:4700:4700::1111',
    '2408:4000::1',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '[2606:4700:4700::1111]',
  ])('%s is public', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });
});

describe('isAddressAllowed', () => {
  it('allowPrivate lets every valid address through, including metadata services', () => {
    for (const ip of ['127.0.0.1', '100.100.100.200', '169.254.169.254', '::1', '8.8.8.8']) {
      expect(isAddressAllowed(ip, { allowPrivate: true })).toBe(true);
    }
    expect(isAddressAllowed('nonsense', { allowPrivate: true })).toBe(false);
  });

  it('allowedCidrs excepts exactly the listed ranges', () => {
    const policy = { allowedCidrs: ['10.1.2.3/32', 'fd00::/8'] };
    expect(isAddressAllowed('10.1.2.3', policy)).toBe(true);
    expect(isAddressAllowed('::ffff:10.1.2.3', policy)).toBe(true);
    expect(isAddressAllowed('10.1.2.4', policy)).toBe(false);
    expect(isAddressAllowed('fd00::5', policy)).toBe(true);
    expect(isAddressAllowed('127.0.0.1', policy)).toBe(false);
    expect(isAddressAllowed('8.8.8.8', policy)).toBe(true);
  });
});

describe('resolveAllowedAddresses and assertUrlAllowed', () => {
  const lookup: LookupFunction = async (host) => {
    const table: Record<string, { address: string; family: number }[]> = {
      'public.test': [{ address: '93.184.215.14', family: 4 }],
      'mixed.test': [
        { address: '127.0.0.1', family: 4 },
        { address: '2606:4700::6810:84e5', family: 6 },
      ],
      'internal.test': [
        { address: '10.0.0.7', family: 4 },
        { address: 'fd00::7', family: 6 },
      ],
    };
    const answer = table[host];
    if (answer) return answer;
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  };

  it('keeps only allowed answers, refuses when none is left', async () => {
    expect(await resolveAllowedAddresses('mixed.test', { lookup })).toEqual([
      { address: '2606:4700::6810:84e5', family: 6 },
    ]);
    await expect(resolveAllowedAddresses('internal.test', { lookup })).rejects.toBeInstanceOf(
      SourceForbiddenError,
    );
    expect(await resolveAllowedAddresses('internal.test', { lookup, allowPrivate: true })).toHaveLength(2);
  });

  it('checks literal IPs without DNS, and maps DNS failures', async () => {
    expect(await resolveAllowedAddresses('[2606:4700::1]', { lookup })).toEqual([
      { address: '2606:4700::1', family: 6 },
    ]);
    await expect(resolveAllowedAddresses('nope.test', { lookup })).rejects.toBeInstanceOf(
      SourceNotFoundError,
    );
    const flaky: LookupFunction = async () => {
      throw Object.assign(new Error('EAI_AGAIN'), { code: 'EAI_AGAIN' });
    };
    await expect(resolveAllowedAddresses('x.test', { lookup: flaky })).rejects.toBeInstanceOf(
      SourceUnavailableError,
    );
    const hanging: LookupFunction = () => new Promise(() => undefined);
    const controller = new AbortController();
    const pending = resolveAllowedAddresses('x.test', { lookup: hanging, signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
  });

  it.each([
    'file:///etc/passwd',
    'ftp://public.test/a.mp4',
    'gopher://public.test/',
    'data:text/plain,hi',
    'javascript:alert(1)',
    'http://127.0.0.1/',
    'http://localhost/',
    'http://[::1]/',
    'http://10.0.0.1/',
    'http://172.16.0.1/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.100.100.200/latest/meta-data/',
    'http://[::ffff:127.0.0.1]/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://0.0.0.0/',
    'http://internal.test/',
    'not a url',
  ])('refuses %s', async (url) => {
    const lookupLocal: LookupFunction = async (host) =>
      host === 'localhost' ? [{ address: '127.0.0.1', family: 4 }] : lookup(host);
    await expect(assertUrlAllowed(url, { lookup: lookupLocal })).rejects.toBeInstanceOf(SourceForbiddenError);
  });

  it('accepts a public host', async () => {
    expect((await assertUrlAllowed('https://public.test/a.mp4', { lookup })).hostname).toBe('public.test');
  });
});

describe('createGuardedDispatcher', () => {
  let target: TestServer;

  beforeEach(async () => {
    target = await startServer((_req, res) => res.end('ok'));
  });

  afterEach(async () => {
    await target.close();
  });

  it('refuses loopback in every spelling before connecting', async () => {
    const toLoopback: LookupFunction = async () => [{ address: '127.0.0.1', family: 4 }];
    const dispatcher = createGuardedDispatcher({ lookup: toLoopback });
    const p = target.port;
    const urls = [
      `http://127.0.0.1:${p}/`,
      `http://2130706433:${p}/`,
      `http://0x7f000001:${p}/`,
      `http://0177.0.0.1:${p}/`,
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://0.0.0.0:${p}/`,
      `http://media.test:${p}/`,
    ];
    try {
      for (const url of urls) {
        await expect(request(url, { dispatcher }), url).rejects.toBeInstanceOf(SourceForbiddenError);
      }
      // `localhost` through the real resolver.
      const real = createGuardedDispatcher({});
      await expect(request(`http://localhost:${p}/`, { dispatcher: real })).rejects.toBeInstanceOf(
        SourceForbiddenError,
      );
      await real.close();
      expect(target.connections).toBe(0);
    } finally {
      await dispatcher.close();
    }
  });

  it('hands the socket only the allowed DNS answers', async () => {
    // 127.0.0.2 answers first but is not allowed; only 127.0.0.1 (excepted) may be connected to.
    const lookup: LookupFunction = async () => [
      { address: '127.0.0.2', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];
    const decoy = await startServer((_req, res) => res.end('decoy'), '127.0.0.2', target.port);
    const dispatcher = createGuardedDispatcher({ lookup, allowedCidrs: ['127.0.0.1/32'] });
    try {
      const res = await request(`http://media.test:${target.port}/`, { dispatcher });
      expect(await res.body.text()).toBe('ok');
      expect(target.connections).toBe(1);
      expect(decoy.connections).toBe(0);
    } finally {
      await dispatcher.close();
      await decoy.close();
    }
  });

  it('lets private addresses through with allowPrivate', async () => {
    const dispatcher = createGuardedDispatcher({ allowPrivate: true });
    try {
      const res = await request(`http://127.0.0.1:${target.port}/`, { dispatcher });
      expect(await res.body.text()).toBe('ok');
    } finally {
      await dispatcher.close();
    }
  });

  it('refuses a malformed CIDR at construction', () => {
    expect(() => createGuardedDispatcher({ allowedCidrs: ['10.0.0.1'] })).toThrow(TypeError);
  });
});
