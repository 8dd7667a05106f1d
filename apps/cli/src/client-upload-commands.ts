import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ClientUpload, MediaferryClient } from '@mediaferry/client';
import OSS from 'ali-oss';
import { type Command, Option } from 'commander';
import { BUSINESS_TYPES, MEDIA_TYPES, UsageError } from './upload-spec.js';

export interface ClientUploadCommandContext {
  client: () => MediaferryClient;
  out: (text: string) => void;
  err: (text: string) => void;
  setExit: (code: number) => void;
  signal: AbortSignal;
}

interface CreateFlags {
  size?: number;
  type: (typeof MEDIA_TYPES)[number];
  title?: string;
  businessType?: (typeof BUSINESS_TYPES)[number];
  endUser?: string;
  idempotencyKey?: string;
  partSize: number;
}

/** ali-oss 6.x wants parts of at least 100 KiB (all but the last). */
const MIN_PART = 100 * 1024;

function mediaOf(fileName: string, f: CreateFlags) {
  const title = f.title ?? (path.parse(fileName).name.slice(0, 128) || fileName);
  if (f.type === 'attached') {
    if (!f.businessType) throw new UsageError('--business-type is required for --type attached');
    return { type: 'attached' as const, businessType: f.businessType, title };
  }
  if (f.type === 'image') return { type: 'image' as const, title };
  return { type: f.type, title };
}

function ossClient(upload: ClientUpload): OSS {
  const o = upload.oss;
  if (!o) throw new Error('the API answered without credentials');
  return new OSS({
    endpoint: o.endpoint,
    bucket: o.bucket,
    region: o.region,
    accessKeyId: o.accessKeyId,
    accessKeySecret: o.accessKeySecret,
    stsToken: o.securityToken,
    // Signature V4, as OSS requires of buckets created since 2025-09-01; the region scopes it.
    authorizationV4: true,
  });
}

const expired = (err: unknown) =>
  ['SecurityTokenExpired', 'InvalidAccessKeyId', 'InvalidSecurityToken'].includes(
    (err as { code?: string })?.code ?? '',
  );

/** `mediaferry client-upload create|send`: the client-upload flow from the command line. */
export function registerClientUploadCommands(program: Command, ctx: ClientUploadCommandContext): void {
  const group = program
    .command('client-upload')
    .description('authorize uploads that a client sends straight to VOD');
  const common = (cmd: Command) =>
    cmd
      .addOption(new Option('--type <type>', 'media type').choices(MEDIA_TYPES).default('video'))
      .option('--title <title>', 'media title (default: the file name without extension)')
      .addOption(new Option('--business-type <type>', 'for --type attached').choices(BUSINESS_TYPES))
      .option('--end-user <id>', 'the end user the upload is for (per-user quotas)')
      .option('--idempotency-key <key>', 'repeat-safe create');

  common(
    group
      .command('create')
      .description('create a client upload and print its credentials (JSON) for a client to use')
      .argument('<file-name>', 'the file name the client will upload (with extension)')
      .requiredOption('--size <bytes>', 'the exact size the client will upload', (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1)
          throw new UsageError(`--size must be a positive integer, got "${v}"`);
        return n;
      }),
  ).action(async (fileName: string, f: CreateFlags) => {
    const { clientUpload } = await ctx.client().clientUploads.create(
      {
        media: mediaOf(fileName, f),
        fileName,
        fileSize: f.size as number,
        ...(f.endUser ? { endUserId: f.endUser } : {}),
        ...(f.idempotencyKey ? { idempotencyKey: f.idempotencyKey } : {}),
      },
      { signal: ctx.signal },
    );
    ctx.out(JSON.stringify(clientUpload, null, 2));
  });

  common(
    group
      .command('send')
      .description(
        'play a real client: create, upload with ali-oss using only the handed-out credentials (refreshing them when they expire), wait until VOD confirms',
      )
      .argument('<path>', 'local file to upload')
      .option(
        '--part-size <bytes>',
        'multipart part size',
        (v) => Math.max(MIN_PART, Number(v) || 0),
        1024 * 1024,
      ),
  ).action(async (file: string, f: CreateFlags) => {
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) throw new UsageError(`${file} is not a readable file`);
    const api = ctx.client().clientUploads;
    const fileName = path.basename(file);
    let { clientUpload: upload } = await api.create(
      {
        media: mediaOf(fileName, f),
        fileName,
        fileSize: info.size,
        ...(f.endUser ? { endUserId: f.endUser } : {}),
        ...(f.idempotencyKey ? { idempotencyKey: f.idempotencyKey } : {}),
      },
      { signal: ctx.signal },
    );
    ctx.err(`client upload ${upload.id} issued for media ${upload.mediaId}`);
    let oss = ossClient(upload);
    const key = upload.oss?.objectKey as string;
    /** Runs an OSS call; on expired credentials asks the API for fresh ones once and tries again. */
    const withRefresh = async <T>(call: (c: OSS) => Promise<T>): Promise<T> => {
      try {
        return await call(oss);
      } catch (err) {
        if (!expired(err)) throw err;
        upload = await api.refresh(upload.id, { signal: ctx.signal });
        ctx.err(`credentials refreshed (media ${upload.mediaId})`);
        oss = ossClient(upload);
        return call(oss);
      }
    };
    if (info.size <= f.partSize) {
      await withRefresh((c) => c.put(key, file));
    } else {
      const { uploadId } = await withRefresh((c) => c.initMultipartUpload(key));
      const parts: { number: number; etag: string }[] = [];
      for (let start = 0, n = 1; start < info.size; start += f.partSize, n++) {
        ctx.signal.throwIfAborted();
        const end = Math.min(info.size, start + f.partSize);
        const part = await withRefresh((c) => c.uploadPart(key, uploadId, n, file, start, end));
        parts.push({ number: n, etag: part.etag });
      }
      await withRefresh((c) => c.completeMultipartUpload(key, uploadId, parts));
    }
    ctx.err('uploaded; waiting for VOD to confirm');
    const settled = await api.waitForSettled(upload.id, { signal: ctx.signal, pollIntervalMs: 500 });
    ctx.out(
      JSON.stringify(
        { ...settled, uploadAuth: undefined, uploadAddress: undefined, oss: undefined },
        null,
        2,
      ),
    );
    if (settled.status !== 'completed') {
      ctx.err(`client upload ${settled.id} ${settled.status}: ${settled.error?.code ?? ''}`);
      ctx.setExit(1);
    }
  });
}
