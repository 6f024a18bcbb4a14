// `npm run doctor`: check the Node.js version, then check the configuration (src/doctor/main.ts).
import { requireSupportedNode } from './node-check.mjs';

requireSupportedNode();
await import('../src/doctor/main.ts');
