import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SourceForbiddenError, SourceUnavailableError } from '@mediaferry/core';
import { makeTempDir, type TempDir } from '@mediaferry/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * Time-of-check/time-of-use races on file sources, made deterministic: the real filesystem functions run,
 * but a one-shot hook swaps a path component at the exact moment between two of the source's own calls.
 */

const hooks = vi.hoisted(() => ({
  beforeStat: null as null | (() => Promise<void>),
  beforeOpen: null as null | (() => Promise<void>),
  realpathCalls: 0,
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const once = async (name: 'beforeStat' | 'beforeOpen') => {
    const hook = hooks[name];
    hooks[name] = null;
    await hook?.();
  };
  const stat = (async (...args: Parameters<typeof real.stat>) => {
    await once('beforeStat');
    return real.stat(...args);
  }) as typeof real.stat;
  const open = (async (...args: Parameters<typeof real.open>) => {
    await once('beforeOpen');
    return real.open(...args);
  }) as typeof real.open;
  const realpath = (async (...args: Parameters<typeof real.realpath>) => {
    hooks.realpathCalls++;
    return real.realpath(...args);
  }) as typeof real.realpath;
  return { ...real, default: { ...real, stat, open, realpath }, stat, open, realpath };
});

const { LocalFileSource } = await import('./local-file.source.js');

let tmp: TempDir;
let root: string;
let outside: string;

beforeEach(async () => {
  tmp = await makeTempDir('mf-sources-race-');
  root = path.join(tmp.path, 'media');
  outside = path.join(tmp.path, 'secret');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(root, 'sub', 'a.mp4'), 'inside');
  await writeFile(path.join(outside, 'a.mp4'), 'SECRET');
});

afterEach(async () => {
  hooks.beforeStat = null;
  hooks.beforeOpen = null;
  hooks.realpathCalls = 0;
  await tmp.remove();
});

/** Replaces the directory `root/sub` by a symlink to the secret directory (an attacker with write access). */
const swapSubForSymlink = async () => {
  await rename(path.join(root, 'sub'), path.join(root, 'sub.orig'));
  await symlink(outside, path.join(root, 'sub'));
};

const readAllOrError = async (file: string) => {
  try {
    const reader = await new LocalFileSource(file, [root]).open({ start: 0 });
    const buf = Buffer.alloc(64);
    const n = await reader.read(buf);
    await reader.close();
    return buf.subarray(0, n).toString();
  } catch (err) {
    return err;
  }
};

describe('file sources under TOCTOU races', () => {
  it('a directory swapped for a symlink after realpath, before stat: never reads outside the root', async () => {
    hooks.beforeStat = swapSubForSymlink;
    const got = await readAllOrError(path.join(root, 'sub', 'a.mp4'));
    expect(got).not.toBe('SECRET');
    expect(got).toBeInstanceOf(SourceForbiddenError);
  });

  it('a directory swapped for a symlink after stat, before open: refused (retryable)', async () => {
    hooks.beforeOpen = swapSubForSymlink;
    const got = await readAllOrError(path.join(root, 'sub', 'a.mp4'));
    expect(got).not.toBe('SECRET');
    expect(got).toBeInstanceOf(SourceUnavailableError);
  });

  it('the file itself swapped for a symlink before open: O_NOFOLLOW refuses it (retryable)', async () => {
    hooks.beforeOpen = async () => {
      await rm(path.join(root, 'sub', 'a.mp4'));
      await symlink(path.join(outside, 'a.mp4'), path.join(root, 'sub', 'a.mp4'));
    };
    const got = await readAllOrError(path.join(root, 'sub', 'a.mp4'));
    expect(got).not.toBe('SECRET');
    expect(got).toBeInstanceOf(SourceUnavailableError);
    // The next attempt resolves the symlink and refuses it for good.
    expect(await readAllOrError(path.join(root, 'sub', 'a.mp4'))).toBeInstanceOf(SourceForbiddenError);
  });

  it('a swap that is undone in time still reads the right file', async () => {
    hooks.beforeOpen = async () => {
      await writeFile(path.join(root, 'sub', 'b.tmp'), 'other');
      await rm(path.join(root, 'sub', 'b.tmp'));
    };
    expect(await readAllOrError(path.join(root, 'sub', 'a.mp4'))).toBe('inside');
  });
});

describe('open() right after stat() reuses its resolution, the descriptor checks still apply', () => {
  const statThenRead = async (file: string) => {
    try {
      const source = new LocalFileSource(file, [root]);
      const { fingerprint } = await source.stat();
      const reader = await source.open({ start: 0, expectedFingerprint: fingerprint });
      const buf = Buffer.alloc(64);
      const n = await reader.read(buf);
      await reader.close();
      return buf.subarray(0, n).toString();
    } catch (err) {
      return err;
    }
  };

  it('resolves the path once for stat() + open()', async () => {
    const source = new LocalFileSource(path.join(root, 'sub', 'a.mp4'), [root]);
    await source.stat();
    const afterStat = hooks.realpathCalls;
    await (await source.open({ start: 0 })).close();
    expect(hooks.realpathCalls).toBe(afterStat);
    // Taken once: a second open() resolves again.
    await (await source.open({ start: 0 })).close();
    expect(hooks.realpathCalls).toBeGreaterThan(afterStat);
  });

  it('a directory swapped for a symlink between stat() and open(): never reads outside the root', async () => {
    hooks.beforeOpen = swapSubForSymlink;
    const result = await statThenRead(path.join(root, 'sub', 'a.mp4'));
    expect(result).toBeInstanceOf(SourceForbiddenError);
    expect(result).toMatchObject({ details: { reason: 'OUTSIDE_ROOTS' } });
  });

  it('the file replaced by another between stat() and open(): a changed source, as without reuse', async () => {
    const file = path.join(root, 'sub', 'a.mp4');
    hooks.beforeOpen = async () => {
      await writeFile(`${file}.new`, 'inside');
      await rename(`${file}.new`, file);
    };
    expect(await statThenRead(file)).toMatchObject({ code: 'SOURCE_CHANGED' });
  });

  it('the file moved away between stat() and open(): not found, as without reuse', async () => {
    const file = path.join(root, 'sub', 'a.mp4');
    hooks.beforeOpen = () => rename(file, path.join(root, 'moved.mp4'));
    expect(await statThenRead(file)).toMatchObject({ code: 'SOURCE_NOT_FOUND' });
  });
});
