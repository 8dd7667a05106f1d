#!/usr/bin/env node
import { runCli } from './cli-program.js';

// The app boundary: the only place that touches process.env, argv, signals and the exit code.
const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  // First Ctrl-C stops waiting cleanly; a second one exits at once.
  if (++interrupts > 1) process.exit(130);
  controller.abort();
});

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
process.exitCode = code;
