/**
 * Entry point of `npm run doctor`: reads .env like `npm start` (the environment wins), runs every
 * check and prints the checklist. Exit status 1 when a check failed. Never prints a secret.
 */
import { existsSync } from 'node:fs';
import { exitCode, formatReport, redact } from './checklist.ts';
import { runDoctor, secretsOf } from './run.ts';

// A .env file in the working directory fills in what the environment does not set.
if (existsSync('.env')) process.loadEnvFile('.env');

process.stdout.write('cotool-slack doctor: checking the configuration, Slack, Cotool and the store\n\n');
try {
  const { results, secrets } = await runDoctor(process.env);
  process.stdout.write(formatReport(results, secrets));
  process.exitCode = exitCode(results);
} catch (err) {
  // A bug in the doctor itself: one line, still without secrets.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${redact(`cotool-slack doctor: ${message.split('\n')[0]}`, secretsOf(process.env))}\n`);
  process.exitCode = 1;
}
