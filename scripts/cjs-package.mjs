// Writes dist/cjs/package.json for the CommonJS build (tsconfig.cjs.json), run by `npm run build`
// after tsc. The root package.json says "type": "module", so without this file Node would read
// dist/cjs/**/*.js as ES modules. It is also the package scope of those files for "imports":
// '#msgpackr-pure' maps to msgpackr's pure build that require() can load without msgpackr-extract
// (msgpackr's require() build of 'msgpackr/pack' loads the native accelerator). Idempotent.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cjs');
fs.mkdirSync(dir, { recursive: true });
const scope = { type: 'commonjs', imports: { '#msgpackr-pure': 'msgpackr/index-no-eval' } };
fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(scope, null, 2) + '\n');
