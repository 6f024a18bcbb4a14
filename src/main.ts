/** Entry point of `npm start`: start the bot, stop it cleanly on SIGTERM/SIGINT within 10 s. */
import { existsSync } from 'node:fs';
import { StartupError, startBot } from './bot.ts';

// A .env file in the working directory fills in what the environment does not set.
if (existsSync('.env')) process.loadEnvFile('.env');

const SHUTDOWN_DEADLINE_MS = 10_000;

try {
  const bot = await startBot(process.env);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    bot.logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      bot.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    bot.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        bot.logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
} catch (err) {
  const message = err instanceof StartupError ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`cotool-slack: ${message.split('\n')[0]}\n`);
  process.exit(1);
}
