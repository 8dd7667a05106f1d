/**
 * A TCP relay that holds every chunk DELAY_MS before passing it on, each way: it adds 2 × DELAY_MS to
 * every request/response round trip. The worker-scaling bench runs one in each worker's namespace in
 * front of the emulator because this machine's kernel has no `sch_netem` (tc cannot delay). Reads
 * LISTEN_HOST, LISTEN_PORT, TARGET_HOST, TARGET_PORT, DELAY_MS from the environment.
 */
import net from 'node:net';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const delayMs = Number(env('DELAY_MS'));
const target = { host: env('TARGET_HOST'), port: Number(env('TARGET_PORT')) };
/** Bytes held or buffered per direction before the reader is paused (the relay's window). */
const HIGH_WATER = 4 * 1024 * 1024;

function pipeDelayed(src: net.Socket, dst: net.Socket): void {
  let held = 0;
  src.on('data', (chunk: Buffer) => {
    held += chunk.length;
    if (held > HIGH_WATER) src.pause();
    setTimeout(() => {
      if (dst.destroyed) return;
      dst.write(chunk, () => {
        held -= chunk.length;
        if (held < HIGH_WATER / 2 && src.isPaused()) src.resume();
      });
    }, delayMs);
  });
  src.on('end', () => setTimeout(() => dst.end(), delayMs));
}

const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const upstream = net.connect({ ...target, allowHalfOpen: true });
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroyBoth);
  upstream.on('error', destroyBoth);
  client.on('close', () => setTimeout(() => upstream.destroy(), delayMs * 2));
  upstream.on('close', () => setTimeout(() => client.destroy(), delayMs * 2));
  pipeDelayed(client, upstream);
  pipeDelayed(upstream, client);
});
server.listen(Number(env('LISTEN_PORT')), env('LISTEN_HOST'), () => {
  process.stdout.write(
    `delay relay: ${env('LISTEN_HOST')}:${env('LISTEN_PORT')} → ${target.host}:${target.port} +${delayMs} ms each way\n`,
  );
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
