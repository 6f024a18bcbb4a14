// `npm start`: check the Node.js version, then run the bot (src/main.ts).
import { requireSupportedNode } from './node-check.mjs';

requireSupportedNode();
await import('../src/main.ts');
