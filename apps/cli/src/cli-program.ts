import {
  AbortError,
  ApiError,
  type JobStatus,
  type JobView,
  MediaferryClient,
  NetworkError,
  TimeoutError,
} from '@mediaferry/client';
import { Command, CommanderError, Option } from 'commander';
import { registerClientUploadCommands } from './client-upload-commands.js';
import { formatJob, formatJobTable } from './job-format.js';
import { createProgressDisplay } from './progress-display.js';
import { BUSINESS_TYPES, buildUploadSpec, MEDIA_TYPES, type UploadFlags, UsageError } from './upload-spec.js';

/** Exit codes (documented in the README). */
export const EXIT = { ok: 0, jobFailed: 1, usage: 2, apiError: 3, interrupted: 130 } as const;

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface CliIo {
  env: Record<string, string | undefined>;
  cwd: string;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Fires on Ctrl-C: `--wait` stops waiting (the job itself goes on). */
  signal: AbortSignal;
}

const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];

function clientFrom(env: CliIo['env']): MediaferryClient {
  const token = env.MEDIAFERRY_TOKEN;
  if (!token) {
    throw new UsageError(
      'MEDIAFERRY_TOKEN is not set: export the API token of your service (MEDIAFERRY_URL picks the API, default ' +
        `${DEFAULT_URL})`,
    );
  }
  const baseUrl = env.MEDIAFERRY_URL || DEFAULT_URL;
  if (!/^https?:\/\//i.test(baseUrl))
    throw new UsageError(`MEDIAFERRY_URL must be an http(s) URL, got "${baseUrl}"`);
  return new MediaferryClient({ baseUrl, token, userAgent: 'mediaferry-cli/1' });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`expected a positive integer, got "${value}"`);
  return n;
}

/**
 * Runs one `mediaferry …` command line (`argv` without node and script) and resolves with the exit
 * code. Writes only to `io.stdout` / `io.stderr`; never prints the token.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const out = (text: string): void => {
    io.stdout.write(`${text}\n`);
  };
  const printJob = (job: JobView, json: boolean): void =>
    out(json ? JSON.stringify(job, null, 2) : formatJob(job));

  const program = new Command('mediaferry')
    .description('Upload media into ApsaraVideo VOD / OSS through a mediaferry API, and manage the jobs.')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .addHelpText(
      'after',
      `\nEnvironment:\n  MEDIAFERRY_URL    API base URL (default ${DEFAULT_URL})\n  MEDIAFERRY_TOKEN  API token of your service (required)`,
    );

  program
    .command('upload')
    .description('create an upload job from a local file path or an http(s) URL')
    .argument('<path|url>', 'file path (made absolute; the API must see it) or http(s) URL')
    .option('--title <title>', 'media title (default: the file name without extension)')
    .addOption(new Option('--type <type>', 'media type').choices(MEDIA_TYPES).default('video'))
    .addOption(new Option('--business-type <type>', 'for --type attached').choices(BUSINESS_TYPES))
    .option('--file-extension <ext>', 'for --type attached, e.g. vtt')
    .option('--file-name <name>', 'file name to record (default: from the source)')
    .option('--oss-bucket <bucket>', 'upload into this OSS bucket instead of VOD (with --oss-key)')
    .option('--oss-key <key>', 'object key in --oss-bucket')
    .option('--callback-url <url>', 'POST the job there when it ends (signed webhook)')
    .option('--idempotency-key <key>', 'the same key returns the same job instead of a second one')
    .option('--wait', 'follow the job with a progress display until it ends; exit 1 unless it succeeds')
    .option('--json', 'print the job as JSON')
    .action(async (input: string, flags: UploadFlags & { wait?: boolean; json?: boolean }) => {
      const spec = buildUploadSpec(input, flags, io.cwd);
      const client = clientFrom(io.env);
      const job = await client.createJob(
        spec,
        flags.idempotencyKey ? { idempotencyKey: flags.idempotencyKey } : {},
      );
      if (!flags.wait) {
        printJob(job, flags.json === true);
        return;
      }
      if (!flags.json) out(`job ${job.id} ${job.status}`);
      exitCode = await waitAndReport(client, job.id, flags.json === true);
    });

  program
    .command('jobs')
    .description("list your service's jobs, newest first")
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(JOB_STATUSES))
    .option('--limit <n>', 'page size', positiveInt, 20)
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--json', 'print the page as JSON')
    .action(async (flags: { status?: JobStatus; limit: number; cursor?: string; json?: boolean }) => {
      const page = await clientFrom(io.env).listJobs({
        limit: flags.limit,
        ...(flags.status ? { status: flags.status } : {}),
        ...(flags.cursor ? { cursor: flags.cursor } : {}),
      });
      if (flags.json) {
        out(JSON.stringify(page, null, 2));
        return;
      }
      out(page.jobs.length === 0 ? 'no jobs' : formatJobTable(page.jobs));
      if (page.nextCursor) out(`more: mediaferry jobs --cursor ${page.nextCursor}`);
    });

  for (const [name, description, call] of [
    ['job', 'show one job', (c: MediaferryClient, id: string) => c.getJob(id)],
    [
      'cancel',
      'cancel a job (its partial upload is aborted)',
      (c: MediaferryClient, id: string) => c.cancelJob(id),
    ],
    ['retry', 'run a failed or canceled job again', (c: MediaferryClient, id: string) => c.retryJob(id)],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<id>', 'job id')
      .option('--json', 'print the job as JSON')
      .action(async (id: string, flags: { json?: boolean }) => {
        printJob(await call(clientFrom(io.env), id), flags.json === true);
      });
  }

  registerClientUploadCommands(program, {
    client: () => clientFrom(io.env),
    out,
    err: (text) => io.stderr.write(`${text}\n`),
    setExit: (code) => {
      exitCode = code;
    },
    signal: io.signal,
  });

  /** Follows the job to its end; progress goes to stdout (stderr with --json, so stdout stays JSON). */
  async function waitAndReport(client: MediaferryClient, id: string, json: boolean): Promise<number> {
    const display = createProgressDisplay({ stream: json ? io.stderr : io.stdout });
    let job: JobView;
    try {
      job = await client.waitForJob(id, {
        signal: io.signal,
        onProgress: (p) => display.progress(p),
        onStatus: (s) => display.status(s),
      });
    } finally {
      display.stop();
    }
    printJob(job, json);
    if (job.status === 'succeeded') return EXIT.ok;
    const code = job.error?.code ?? (job.status === 'canceled' ? 'CANCELED' : 'UNKNOWN');
    io.stderr.write(`job ${job.id} ${job.status}: ${code}${job.error ? ` (${job.error.message})` : ''}\n`);
    return EXIT.jobFailed;
  }

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CliIo): number {
  const say = (text: string) => io.stderr.write(`mediaferry: ${text}\n`);
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage; // commander printed it
  if (err instanceof UsageError) {
    say(err.message);
    return EXIT.usage;
  }
  if (err instanceof AbortError) {
    say('interrupted: stopped waiting (the job itself goes on)');
    return EXIT.interrupted;
  }
  if (err instanceof ApiError) {
    say(`${err.code} (HTTP ${err.status}): ${err.message}`);
    const fields = (err.details as { fields?: Array<{ path?: string; message?: string }> } | undefined)
      ?.fields;
    if (Array.isArray(fields)) for (const f of fields) say(`  ${f.path || '(body)'}: ${f.message ?? ''}`);
    else if (err.details) say(`  details: ${JSON.stringify(err.details)}`);
    return EXIT.apiError;
  }
  if (err instanceof NetworkError || err instanceof TimeoutError) {
    say(err.message);
    return EXIT.apiError;
  }
  say(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return EXIT.apiError;
}
