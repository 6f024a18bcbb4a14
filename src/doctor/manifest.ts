/**
 * The bot scopes the Slack app manifest (manifest.yml) asks for, and which of them a token lacks.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';

export const MANIFEST_URL = new URL('../../manifest.yml', import.meta.url);

export type ScopesResult = { ok: true; scopes: string[] } | { ok: false; problem: string };

/** `oauth_config.scopes.bot` of a manifest's YAML text. */
export function botScopesOf(yamlText: string): ScopesResult {
  let doc: unknown;
  try {
    doc = parse(yamlText);
  } catch (err) {
    return {
      ok: false,
      problem: `not valid YAML (${err instanceof Error ? err.message.split('\n')[0] : 'parse error'})`,
    };
  }
  const bot = (doc as { oauth_config?: { scopes?: { bot?: unknown } } } | null)?.oauth_config?.scopes?.bot;
  if (!Array.isArray(bot) || bot.length === 0 || !bot.every((s) => typeof s === 'string' && s.length > 0)) {
    return { ok: false, problem: 'no oauth_config.scopes.bot list' };
  }
  return { ok: true, scopes: [...new Set(bot as string[])] };
}

export async function readManifestScopes(url: URL = MANIFEST_URL): Promise<ScopesResult> {
  let text: string;
  try {
    text = await readFile(url, 'utf8');
  } catch (err) {
    return { ok: false, problem: `cannot read manifest.yml (${(err as { code?: string }).code ?? 'unreadable'})` };
  }
  return botScopesOf(text);
}

/** The scopes `required` lists that `granted` lacks, in `required`'s order. */
export function missingScopes(required: readonly string[], granted: readonly string[]): string[] {
  const have = new Set(granted.map((s) => s.trim()));
  return required.filter((s) => !have.has(s));
}
