import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const guardsModule = pathToFileURL(fileURLToPath(new URL('./process-guards.ts', import.meta.url))).href;

/**
 * Runs the guards in a real child process (the behaviour under test is the process exiting), with a
 * `shutdown` that prints when it starts and settles after `shutdownMs` (never, when null).
 */
async function guardedChild(fault: string, shutdownMs: number | null) {
  const script = `
    const { installProcessGuards } = await import(${JSON.stringify(guardsModule)});
    installProcessGuards({
      logger: { fatal(obj, msg) { process.stdout.write('LOG ' + msg + ': ' + String(obj.err && obj.err.message) + '\\n'); } },
      graceMs: 1000,
      shutdown: (reason) => {
        process.stdout.write('HANDING BACK after ' + reason + '\\n');
        return new Promise((resolve) => {
          ${shutdownMs === null ? '' : `setTimeout(() => { process.stdout.write('HANDED BACK\\n'); resolve(); }, ${shutdownMs});`}
        });
      },
    });
    setInterval(() => {}, 1000); // a serving process: something keeps the loop alive
    ${fault}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += String(d);
  });
  child.stderr.on('data', (d) => {
    output += String(d);
  });
  const started = Date.now();
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output, ms: Date.now() - started };
}

describe('installProcessGuards', () => {
  it('logs an uncaught exception, hands work back, then exits non-zero', async () => {
    const r = await guardedChild("setImmediate(() => { throw new Error('boom-exception'); });", 50);
    expect(r.output).toContain('LOG uncaught exception; handing work back and exiting: boom-exception');
    expect(r.output).toContain('HANDING BACK after uncaught exception\nHANDED BACK\n');
    expect(r.code).toBe(70);
  });

  it('treats an unhandled rejection the same way; a second fault does not start a second shutdown', async () => {
    const r = await guardedChild(
      "Promise.reject(new Error('boom-rejection')); setTimeout(() => { throw new Error('second'); }, 10);",
      200,
    );
    expect(r.output).toContain(
      'LOG unhandled promise rejection; handing work back and exiting: boom-rejection',
    );
    expect(r.output).toContain('LOG uncaught exception; handing work back and exiting: second');
    expect(r.output.match(/HANDING BACK/g)).toHaveLength(1);
    expect(r.output).toContain('HANDED BACK');
    expect(r.code).toBe(70);
  });

  it('exits after graceMs when handing back never finishes', async () => {
    const r = await guardedChild("setImmediate(() => { throw new Error('boom'); });", null);
    expect(r.output).toContain('HANDING BACK');
    expect(r.output).not.toContain('HANDED BACK');
    expect(r.code).toBe(70);
    expect(r.ms).toBeGreaterThanOrEqual(1000);
  });
});
