import { randomUUID } from 'node:crypto';
import type { MediaSpec, StorageTarget, UploadDestination } from '@mediaferry/core';
import { type Emulator, startEmulator } from '@mediaferry/emulator';
import { afterAll, beforeAll } from 'vitest';
import { createAccountOssClient } from './oss-client.js';
import { OssStorageTarget } from './oss-storage.target.js';
import { vodClientFor } from './test-support/fixtures.js';
import { storageTargetConformance, type TargetFixture } from './test-support/storage-target.conformance.js';
import { VodStorageTarget } from './vod-storage.target.js';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(() => emu.close());

const account = () => ({
  endpoint: emu.ossEndpoint,
  region: emu.region,
  accessKeyId: emu.accessKeyId,
  accessKeySecret: emu.accessKeySecret,
});

type RawOss = {
  get(name: string): Promise<{ content: Buffer }>;
  listUploads(query: object): Promise<{ uploads?: { name: string; uploadId: string }[] }>;
};
const oss = (bucket: string) => createAccountOssClient({ ...account(), bucket }).client as unknown as RawOss;

function fixture(
  fileName: string,
  make: () => StorageTarget,
  again: (first: StorageTarget) => StorageTarget,
): TargetFixture {
  return {
    fileName,
    make,
    again,
    async read(d: UploadDestination) {
      try {
        return (await oss(d.bucket).get(d.objectKey)).content;
      } catch (err) {
        if ((err as { status?: number }).status === 404) return null;
        throw err;
      }
    },
    async openUploads(d: UploadDestination) {
      const res = await oss(d.bucket).listUploads({ prefix: d.objectKey, 'max-uploads': 1000 });
      return (res.uploads ?? []).filter((u) => u.name === d.objectKey).map((u) => u.uploadId);
    },
    expireCredentials: async () => {
      await emu.admin.expireCredentials();
    },
    teardown: async () => {
      await emu.admin.resetFaults();
    },
  };
}

const vod = (fileName: string, media: () => MediaSpec) => {
  const specs = new WeakMap<StorageTarget, MediaSpec>();
  const build = (spec: MediaSpec) => {
    const t = new VodStorageTarget({ vod: vodClientFor(emu), media: spec });
    specs.set(t, spec);
    return t;
  };
  return fixture(
    fileName,
    () => build(media()),
    (first) => build(specs.get(first)!),
  );
};

storageTargetConformance(
  'OSS (plain bucket)',
  async () => {
    const keys = new WeakMap<StorageTarget, string>();
    const build = (key: string) => {
      const t = new OssStorageTarget({
        account: account(),
        bucket: 'mediaferry-local',
        key,
        mediaType: 'video',
      });
      keys.set(t, key);
      return t;
    };
    return fixture(
      'clip.mp4',
      () => build(`conformance/${randomUUID()}.mp4`),
      (first) => build(keys.get(first)!),
    );
  },
  { reattach: true, credentials: 'none' },
);

storageTargetConformance(
  'VOD video',
  async () => vod('clip.mp4', () => ({ type: 'video', title: `conf ${randomUUID()}` })),
  {
    reattach: true,
    credentials: 'refreshable',
  },
);

storageTargetConformance(
  'VOD image',
  async () => vod('still.jpg', () => ({ type: 'image', title: `conf ${randomUUID()}` })),
  {
    reattach: false,
    credentials: 'unrefreshable',
  },
);

storageTargetConformance(
  'VOD attached media',
  async () =>
    vod('captions.vtt', () => ({
      type: 'attached',
      businessType: 'subtitle',
      fileExtension: 'vtt',
      title: `conf ${randomUUID()}`,
    })),
  { reattach: false, credentials: 'unrefreshable' },
);
