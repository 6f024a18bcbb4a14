import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/core/command.ts';

describe('/cotool mutes', () => {
  it.each(['mutes', 'MUTES', ' muted ', 'mute'])('%j lists the mutes', (text) => {
    expect(parseCommand(text)).toEqual({ kind: 'mutes' });
  });
  it('anything after it is explained, not guessed at', () => {
    expect(parseCommand('mutes everything')).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('/cotool mutes'),
    });
  });
});
