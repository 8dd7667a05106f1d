/**
 * What a benchmark started, stopped in reverse order on every way out: normal end, error, Ctrl-C or
 * SIGTERM (so no redis-server, API or worker outlives the run).
 */
export class Cleanup {
  readonly #steps: (() => Promise<unknown>)[] = [];
  #running: Promise<void> | undefined;

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.stderr.write(`${signal}: stopping what the benchmark started …\n`);
        void this.run().finally(() => process.exit(130));
      });
    }
  }

  /** Registers a step; steps run last-added first. */
  add(step: () => Promise<unknown>): void {
    this.#steps.unshift(step);
  }

  /** Runs every step once, each in its own try/catch. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const step of this.#steps) {
        try {
          await step();
        } catch (err) {
          process.stderr.write(`cleanup step failed: ${(err as Error).message}\n`);
        }
      }
    })();
    return this.#running;
  }
}
