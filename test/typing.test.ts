// The public types, checked by the TypeScript compiler from inside the suite: the codec-typing
// assertions of test/types/codec-types.ts (against the sources of both entry points), and every
// ```ts block of the README compiled with `strict` against the built package as an application
// sees it (`import ... from 'seglog'` resolves through package.json's exports to dist/*.d.ts,
// which test/global-setup.ts builds). A typing regression, or a README snippet that stops
// compiling, fails here even when nobody runs `npm run typecheck`.
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The compiler options of tsconfig.json (strict), with nothing emitted. */
function compilerOptions(): ts.CompilerOptions {
  const configPath = path.join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (f) => ts.sys.readFile(f));
  if (config.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  return { ...parsed.options, strict: true, noEmit: true, types: ['node'] };
}

/** Compiles `files` (real paths, or virtual ones given with their text) and returns every diagnostic, rendered. */
function typeErrors(files: string[], virtual: Map<string, string> = new Map()): string[] {
  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => virtual.get(path.resolve(f)) ?? readFile(f);
  host.fileExists = (f) => virtual.has(path.resolve(f)) || fileExists(f);
  host.getSourceFile = (f, lang, onError, create) => {
    const text = virtual.get(path.resolve(f));
    return text !== undefined ? ts.createSourceFile(f, text, lang, true) : getSourceFile(f, lang, onError, create);
  };
  const program = ts.createProgram({ rootNames: [...files, ...virtual.keys()], options, host });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file === undefined || d.start === undefined) return text;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${path.relative(root, d.file.fileName)}(${line + 1},${character + 1}): ${text}`;
  });
}

/** The ```ts blocks of a markdown file, in order. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** Compiles once, on first use: the suite's tests share one program per kind (a compile takes seconds). */
function once<T>(f: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= f());
}

const readmeBlocks = (): string[] => tsBlocks(fs.readFileSync(path.join(root, 'README.md'), 'utf8'));
const readmeFile = (i: number): string => path.join(root, 'test/types', `__readme_${i}__.ts`);
const codecTypes = path.join(root, 'test/types/codec-types.ts');

/** What must compile: the assertions file and the README's blocks. */
const shouldCompile = once(() => typeErrors([codecTypes], new Map(readmeBlocks().map((text, i) => [readmeFile(i), text]))));

/** What must not: a wrong assertion, a @ts-expect-error over valid code, and the quick start as it was before typed codecs. */
const probeAssertion = path.join(root, 'test/types/__probe__.ts');
const probeReadme = path.join(root, 'test/types/__readme_old__.ts');
const shouldFail = once(() => typeErrors([], new Map([
  [probeAssertion, [
    "import type { Log } from '../../src/index.js';",
    "import { expectTypeOf } from 'vitest';",
    'export function f(log: Log): void {',
    "  expectTypeOf(log.topic('s', { codec: 'string' }).get(0)!.value).toEqualTypeOf<number | null>();",
    '  // @ts-expect-error',
    "  log.topic<string>('s', { codec: 'string' });",
    '}',
  ].join('\n')],
  [probeReadme, [
    "import { openLog } from 'seglog';",
    "const log = await openLog('./data');",
    "const events = log.topic('events', { codec: 'json' });",
    "for await (const r of events.subscribe({ group: 'mailer' })) console.log(r.value.user);",
  ].join('\n')],
])));

const inFile = (errors: string[], file: string): string[] => errors.filter((e) => e.startsWith(path.relative(root, file) + '('));

describe('public types', () => {
  test('the codec sets the value type of log.topic(), in both entry points (test/types/codec-types.ts)', () => {
    expect(inFile(shouldCompile(), codecTypes)).toEqual([]);
  });

  test("every ts block of the README compiles with strict against the package ('seglog' as installed)", () => {
    const blocks = readmeBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    expect(blocks[0]).toContain("from 'seglog'"); // the quick start
    expect(shouldCompile()).toEqual([]); // (nothing else either: a block's error may be reported in a file it imports)
  });

  test('a type assertion that fails, or a @ts-expect-error over code that compiles, is reported (the check can fail)', () => {
    const errors = inFile(shouldFail(), probeAssertion);
    expect(errors).toHaveLength(2);
    expect(errors[1]).toContain("Unused '@ts-expect-error' directive");
  });

  test('a README block that does not compile under strict is reported (the quick start as it was)', () => {
    expect(inFile(shouldFail(), probeReadme).join('\n')).toMatch(/'r\.value' is of type 'unknown'/);
  });
});
