/**
 * The configuration as the running bot and the doctor read it: the environment, and the files it
 * names (COTOOL_SLACK_ROUTES), read here so that parsing them (src/config.ts) stays pure.
 */
import { readFileSync } from 'node:fs';
import { type ConfigFiles, type ConfigResult, parseConfig } from './config.ts';

export function loadConfig(env: Record<string, string | undefined>): ConfigResult {
  const files: ConfigFiles = {};
  const routes = env.COTOOL_SLACK_ROUTES?.trim();
  if (routes) {
    try {
      files.routes = { text: readFileSync(routes, 'utf8') };
    } catch (err) {
      files.routes = { unreadable: (err as { code?: string }).code ?? 'unreadable' };
    }
  }
  return parseConfig(env, files);
}
