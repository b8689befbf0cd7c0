/**
 * `npm run stack:up | stack:down | stack:status`: the local Matrix + LiveKit stack.
 */
import { down, status, up, type StackEnv } from './stack/index.ts';
import { envFile } from './stack/layout.ts';
import { StackError } from './stack/processes.ts';

function printEnv(env: StackEnv): void {
  const [a, b] = env.homeservers;
  const lines = [
    '',
    'Causerie local stack is up:',
    `  Synapse A   ${a?.server_name ?? ''}  client ${a?.url ?? ''}  federation ${a?.federation_url ?? ''}`,
    `  Synapse B   ${b?.server_name ?? ''}  client ${b?.url ?? ''}  federation ${b?.federation_url ?? ''}`,
    `  LiveKit     ${env.livekit.url}  (key ${env.livekit.api_key})`,
    `  PostgreSQL  ${env.postgres.url}`,
    `  Causerie    ${env.service.url}  (health: ${env.service.url}/healthz, bot ${env.appservice.sender})`,
    `  Partner B   token service ${env.partner.service_url} on LiveKit ${env.partner.livekit_url} (${
      env.partner.advertised ? 'B’s transport: two SFUs' : 'not advertised: one SFU; CAUSERIE_STACK_SFU=two for two'
    })`,
    `  Details     ${envFile}`,
    '  Stop with   npm run stack:down',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

async function main(command: string | undefined): Promise<void> {
  switch (command) {
    case 'up': {
      const started = Date.now();
      const { env } = await up();
      printEnv(env);
      process.stdout.write(`(ready in ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
      return;
    }
    case 'down': {
      const stopped = await down();
      process.stdout.write(stopped.length === 0 ? 'nothing was running\n' : `stopped: ${stopped.join(', ')}\n`);
      return;
    }
    case 'status': {
      const parts = await status();
      if (parts.length === 0) process.stdout.write('the stack was never started here\n');
      for (const p of parts) {
        const state =
          p.pid === undefined ? 'stopped' : p.healthy ? `running (pid ${p.pid})` : `unhealthy (pid ${p.pid})`;
        process.stdout.write(`${p.name.padEnd(10)} ${state}\n`);
      }
      process.exitCode = parts.every((p) => p.healthy) && parts.length > 0 ? 0 : 1;
      return;
    }
    default:
      process.stderr.write('usage: tsx scripts/stack.ts up|down|status\n');
      process.exitCode = 2;
  }
}

main(process.argv[2]).catch((err: unknown) => {
  process.stderr.write(
    `\n${err instanceof StackError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
