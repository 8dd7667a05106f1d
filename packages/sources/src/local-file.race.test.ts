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
  return { ...real, default: { ...real, stat, open }, stat, open };
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
