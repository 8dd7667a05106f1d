import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type System, type SystemOptions, startSystem } from './system.js';

/**
 * Vitest wiring: one System per `describe` (started in beforeAll, always stopped in afterAll), and the
 * tail of every process's log printed when a test fails. Returns a getter for the running system.
 */
export function useSystem(options: SystemOptions = {}): () => System {
  let system: System | undefined;
  beforeAll(async () => {
    system = await startSystem(options);
  }, 120_000);
  afterAll(async () => {
    await system?.stop();
  }, 60_000);
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (system) process.stderr.write(`\n${system.report()}\n`);
    });
  });
  return () => {
    if (!system) throw new Error('the system is not running (beforeAll failed?)');
    return system;
  };
}
