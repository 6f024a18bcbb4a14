// The Node.js version check that runs before any TypeScript source is loaded (`npm start`,
// `npm run doctor`). Plain JavaScript that any Node.js still around can parse: on an older Node,
// loading a .ts file would end in an ERR_UNKNOWN_FILE_EXTENSION stack trace instead of this line.

export const REQUIRED_MAJOR = 24;

/** The one-line problem with this Node.js version, or null when it is new enough. */
export function nodeVersionProblem(version = process.versions.node) {
  const major = Number.parseInt(String(version).split('.')[0] || '', 10);
  if (Number.isInteger(major) && major >= REQUIRED_MAJOR) return null;
  return `cotool-slack needs Node.js ${REQUIRED_MAJOR} LTS (found v${version}): install it from https://nodejs.org or use the Docker image`;
}

/** Exits with status 1 and the one line on stderr when this Node.js is too old. */
export function requireSupportedNode() {
  const problem = nodeVersionProblem();
  if (problem === null) return;
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
